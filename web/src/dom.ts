/** A small element builder: the app has few screens, and a framework would outweigh them. */
type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === 'class') {
      element.className = String(value);
    } else if (key in element && !key.includes('-') && key !== 'list') {
      // Properties (value, checked, disabled, ...) rather than attributes, so state follows input.
      (element as unknown as Props)[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Text is always set as text: nothing the API returns is ever parsed as HTML. */
export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An inline SVG icon from a path, hidden from screen readers (the button carries the label). */
export function icon(d: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.appendChild(path);
  return svg;
}

export const ICONS = {
  upload: 'M12 3l5 5h-3v6h-4V8H7l5-5zm-7 14h14v3H5v-3z',
  back: 'M15.4 7.4L14 6l-6 6 6 6 1.4-1.4L10.8 12z',
  trash: 'M6 7h12l-1 14H7L6 7zm3-4h6l1 2h4v2H4V5h4l1-2z',
  photo: 'M4 5h16v14H4V5zm2 2v8l4-4 3 3 2-2 3 3V7H6zm9 1.5a1.5 1.5 0 110 3 1.5 1.5 0 010-3z',
  user: 'M12 12a4 4 0 100-8 4 4 0 000 8zm0 2c-4 0-8 2-8 5v1h16v-1c0-3-4-5-8-5z',
  computer: 'M3 5h18v11H3V5zm2 2v7h14V7H5zm-3 11h20v2H2v-2z',
  phone: 'M7 2h10v20H7V2zm2 2v14h6V4H9zm2 15h2v1h-2v-1z',
} as const;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "just now", "5 minutes ago", "yesterday", "3 weeks ago"; the date beyond a month. */
export function formatRelative(iso: string, now = Date.now()): string {
  const minutes = (new Date(iso).getTime() - now) / 60_000;
  if (Math.abs(minutes) < 1) return 'just now';
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const hours = minutes / 60;
  const days = hours / 24;
  if (Math.abs(minutes) < 60) return format.format(Math.round(minutes), 'minute');
  if (Math.abs(hours) < 24) return format.format(Math.round(hours), 'hour');
  if (Math.abs(days) < 7) return format.format(Math.round(days), 'day');
  if (Math.abs(days) < 31) return format.format(Math.round(days / 7), 'week');
  return formatDate(iso);
}
