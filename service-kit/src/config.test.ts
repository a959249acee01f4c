import { z } from 'zod';
import { boolFlag, ConfigError, csv, optionalString, parseEnv, port } from './config';

describe('parseEnv', () => {
  const schema = z.object({
    PORT: port(4000),
    NAME: z.string().min(1),
    DEBUG: boolFlag(false),
    LIST: csv,
    URL: optionalString,
  });

  it('applies defaults and coerces values', () => {
    expect(parseEnv(schema, { NAME: 'x', DEBUG: 'yes', LIST: ' a, ,b ', URL: '' })).toEqual({
      PORT: 4000,
      NAME: 'x',
      DEBUG: true,
      LIST: ['a', 'b'],
      URL: undefined,
    });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      parseEnv(schema, { PORT: '70000', DEBUG: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('NAME');
    expect(message).toContain('DEBUG');
  });
});
