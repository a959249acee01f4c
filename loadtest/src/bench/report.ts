/** Turns one bench run into a printed table, a JSON record and an SVG chart. */

export interface Row {
  scenario: string;
  measure: string;
  value: string;
  detail: string;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
}

export interface Target {
  what: string;
  actual: string;
  met: boolean;
  /** The run cannot tell (e.g. its rounds disagree by more than the effect judged); `met` is false. */
  inconclusive?: boolean;
}

export function formatNumber(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

export function renderTable(rows: Row[]): string {
  const headers = ['Scenario', 'Measure', 'Value', 'Detail'];
  const cells = rows.map((r) => [r.scenario, r.measure, r.value, r.detail]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}

export function renderTargets(targets: Target[]): string {
  return targets
    .map((t) => `- [${t.met ? 'x' : t.inconclusive ? '?' : ' '}] ${t.what}: ${t.actual}`)
    .join('\n');
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Horizontal bar panels stacked vertically; each panel has its own scale and unit. */
export function renderSvg(title: string, subtitle: string[], panels: Panel[]): string {
  const width = 760;
  const labelWidth = 230;
  const barArea = width - labelWidth - 110;
  const barHeight = 20;
  const gap = 6;
  const parts: string[] = [];
  let y = 56 + subtitle.length * 16;
  for (const panel of panels) {
    parts.push(
      `<text x="16" y="${y}" class="panel">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`,
    );
    y += 10;
    const max = Math.max(...panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-9);
    panel.bars.forEach((bar, i) => {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      const length = Math.max(1, (value / max) * barArea);
      const top = y + i * (barHeight + gap);
      parts.push(
        `<text x="${labelWidth - 8}" y="${top + 15}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${top}" width="${length.toFixed(1)}" height="${barHeight}" class="bar${i % 4}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${top + 15}" class="value">${escapeXml(formatNumber(bar.value))}</text>`,
      );
    });
    y += panel.bars.length * (barHeight + gap) + 28;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    '<style>.title{font-size:18px;font-weight:bold}.sub{font-size:12px;fill:#555}.panel{font-size:14px;font-weight:bold}',
    '.label,.value{font-size:12px}.bar0{fill:#2b6cb0}.bar1{fill:#dd6b20}.bar2{fill:#38a169}.bar3{fill:#805ad5}</style>',
    `<rect width="${width}" height="${y}" fill="#fff"/>`,
    `<text x="16" y="24" class="title">${escapeXml(title)}</text>`,
    ...subtitle.map((line, i) => `<text x="16" y="${44 + i * 16}" class="sub">${escapeXml(line)}</text>`),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
