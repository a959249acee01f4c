import { topicMatches } from './transport';

describe('topicMatches (AMQP topic patterns)', () => {
  it.each([
    ['image.stored', 'image.stored', true],
    ['image.*', 'image.stored', true],
    ['image.*', 'image.stored.v2', false],
    ['image.#', 'image.stored.v2', true],
    ['image.#', 'image', true],
    ['#', 'user.deleted', true],
    ['*.deleted', 'user.deleted', true],
    ['*.deleted', 'image.stored', false],
    ['user.*', 'image.deleted', false],
  ])('%s matches %s: %s', (pattern, type, expected) => {
    expect(topicMatches(pattern, type)).toBe(expected);
  });
});
