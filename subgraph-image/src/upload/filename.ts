import { printableText } from '@imagehub/service-kit';

const MAX_FILENAME_BYTES = 255;
const FALLBACK_BASENAME = 'image';

const EXTENSION_BY_TYPE: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
};

/**
 * The client's filename reduced to something safe to store and echo: last path component only
 * (either separator), no control or direction-changing characters, trimmed, at most 255 bytes of
 * UTF-8 without splitting a character (cut in the stem, so that the extension stays), and a
 * fallback when nothing is left.
 */
export function sanitizeFilename(original: string | undefined | null, contentType: string): string {
  const lastComponent = (original ?? '').split(/[/\\]/).pop() ?? '';
  let name = printableText(lastComponent);
  if (name === '.' || name === '..' || /^\.+$/.test(name)) name = '';
  name = truncateKeepingExtension(name, MAX_FILENAME_BYTES);
  if (name.length > 0) return name;
  return `${FALLBACK_BASENAME}.${EXTENSION_BY_TYPE[contentType] ?? 'bin'}`;
}

/** Extensions longer than this are not worth keeping whole: the name is then cut at its end. */
const MAX_KEPT_EXTENSION_BYTES = 16;

/** `truncateUtf8`, but a name with an extension loses the end of its stem, not its extension. */
function truncateKeepingExtension(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  const extensionBytes = Buffer.byteLength(extension, 'utf8');
  if (extension.length < 2 || extensionBytes > MAX_KEPT_EXTENSION_BYTES) return truncateUtf8(name, maxBytes);
  const stem = truncateUtf8(name.slice(0, dot), maxBytes - extensionBytes);
  return stem.length > 0 ? `${stem}${extension}` : truncateUtf8(name, maxBytes);
}

function truncateUtf8(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  let bytes = 0;
  let out = '';
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += char;
  }
  return out.trimEnd();
}

/** RFC 6266/8187 `Content-Disposition: inline`, with an ASCII fallback for old clients. */
export function contentDisposition(filename: string): string {
  const asciiFallback = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `inline; filename="${asciiFallback}"; filename*=UTF-8''${encoded}`;
}

/** Name served for the thumbnail variant: the original's stem with the thumbnail's own extension. */
export function thumbnailFilename(filename: string): string {
  const dot = filename.lastIndexOf('.');
  const stem = dot > 0 ? filename.slice(0, dot) : filename;
  return truncateUtf8(`${stem}-thumbnail`, MAX_FILENAME_BYTES - '.webp'.length).concat('.webp');
}
