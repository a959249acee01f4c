import { contentDisposition, sanitizeFilename, thumbnailFilename } from './filename';

describe('sanitizeFilename', () => {
  it.each([
    ['photo.jpg', 'photo.jpg'],
    ['/etc/passwd', 'passwd'],
    ['C:\\Users\\me\\Desktop\\cat.png', 'cat.png'],
    ['../../secret.gif', 'secret.gif'],
    ['na\u0000me\u0007\u001b[31m.png', 'name[31m.png'],
    ['evil\u202egnp.exe', 'evilgnp.exe'],
    ['  spaced.webp  ', 'spaced.webp'],
    ['dir/', 'image.jpg'],
    ['..', 'image.jpg'],
    ['', 'image.jpg'],
  ])('%j -> %j', (input, expected) => {
    expect(sanitizeFilename(input, 'image/jpeg')).toBe(expected);
  });

  it('falls back to a name with the detected type’s extension', () => {
    expect(sanitizeFilename(undefined, 'image/avif')).toBe('image.avif');
    expect(sanitizeFilename('\u0000', 'image/png')).toBe('image.png');
  });

  it('caps at 255 bytes of UTF-8 without splitting a character', () => {
    const name = sanitizeFilename(`${'😀'.repeat(100)}.png`, 'image/png');
    expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(255);
    // Cut in the stem: the extension stays (a person downloading it gets a file that opens).
    expect(name).toBe(`${'😀'.repeat(62)}.png`);
    expect(sanitizeFilename(`${'é'.repeat(600)}.jpeg`, 'image/jpeg')).toBe(`${'é'.repeat(125)}.jpeg`);
    // No extension, or one too long to be one: the end of the name goes.
    expect(sanitizeFilename('x'.repeat(300), 'image/png')).toBe('x'.repeat(255));
    expect(sanitizeFilename(`a.${'b'.repeat(300)}`, 'image/png')).toBe(`a.${'b'.repeat(253)}`);
  });
});

describe('contentDisposition', () => {
  it('encodes per RFC 8187 with an ASCII fallback free of quotes', () => {
    expect(contentDisposition('a "b".png')).toBe(
      `inline; filename="a _b_.png"; filename*=UTF-8''a%20%22b%22.png`,
    );
    expect(contentDisposition("ü's (1).jpg")).toBe(
      `inline; filename="_'s (1).jpg"; filename*=UTF-8''%C3%BC%27s%20%281%29.jpg`,
    );
  });
});

describe('thumbnailFilename', () => {
  it('replaces the extension', () => {
    expect(thumbnailFilename('holiday.jpeg')).toBe('holiday-thumbnail.webp');
    expect(thumbnailFilename('.hidden')).toBe('.hidden-thumbnail.webp');
  });
});
