/** A dependency-free SVG of small line charts, one panel per measure, one line per series. */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const WIDTH = 460;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 28, bottom: 40 };

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

const formatTick = (value: number) =>
  value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);

function renderPanel(panel: Panel, x0: number, y0: number): string {
  const all = panel.series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map(([x]) => x));
  const maxY = niceMax(Math.max(0, ...all.map(([, y]) => y)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const sx = (x: number) => x0 + PAD.left + (x / maxX) * plotW;
  const sy = (y: number) => y0 + PAD.top + plotH - (y / maxY) * plotH;
  const parts: string[] = [
    `<text x="${x0 + PAD.left}" y="${y0 + 18}" font-size="13" font-weight="bold">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`,
    `<rect x="${x0 + PAD.left}" y="${y0 + PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (maxY * i) / 4;
    const y = sy(value);
    parts.push(
      `<line x1="${x0 + PAD.left}" x2="${x0 + PAD.left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      `<text x="${x0 + PAD.left - 4}" y="${y + 4}" font-size="10" text-anchor="end">${formatTick(value)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const value = (maxX * i) / 4;
    parts.push(
      `<text x="${sx(value)}" y="${y0 + PAD.top + plotH + 14}" font-size="10" text-anchor="middle">${Math.round(value)} s</text>`,
    );
  }
  panel.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    if (series.points.length > 0) {
      const d = series.points
        .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    const lx = x0 + PAD.left + i * 130;
    const ly = y0 + HEIGHT - 8;
    parts.push(
      `<line x1="${lx}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 18}" y="${ly}" font-size="10">${escapeXml(series.name)}</text>`,
    );
  });
  return parts.join('\n');
}

export function renderChart(title: string, panels: Panel[], columns = 2): string {
  const rows = Math.ceil(panels.length / columns);
  const width = columns * WIDTH;
  const height = rows * HEIGHT + 30;
  const body = panels.map((panel, i) =>
    renderPanel(panel, (i % columns) * WIDTH, 30 + Math.floor(i / columns) * HEIGHT),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
