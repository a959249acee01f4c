import { printableText } from './text';

describe('printableText', () => {
  it.each([
    ['Ada\u0000', 'Ada'],
    ['\u202eAda', 'Ada'],
    ['A\u200bda', 'Ada'],
    ['\u2066Ada\u2069', 'Ada'],
    ['  Ada Lovelace  ', 'Ada Lovelace'],
    ['Zoe\u0308', 'Zoë'],
    ['\u200b\u200c\u200d\ufeff', ''],
    ['\u0007\u001b[31m', '[31m'],
  ])('%j becomes %j', (raw, expected) => {
    expect(printableText(raw)).toBe(expected);
  });

  it('keeps ordinary letters of any script and emoji', () => {
    expect(printableText('Jürgen 山田 🎉')).toBe('Jürgen 山田 🎉');
  });
});
