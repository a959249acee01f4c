import { apolloSettings, ideEnabled } from './apollo';
import { createLogger } from './logger';
import { createMetrics } from './metrics';

const settings = (nodeEnv: 'development' | 'test' | 'production') =>
  apolloSettings({
    role: 'subgraph',
    nodeEnv,
    logger: createLogger('test', 'silent'),
    metrics: createMetrics('test'),
  });

describe('apolloSettings', () => {
  it('allows introspection and the IDE outside production only', () => {
    expect(settings('development').introspection).toBe(true);
    expect(settings('test').introspection).toBe(true);
    expect(settings('production').introspection).toBe(false);
    expect([ideEnabled('development'), ideEnabled('test'), ideEnabled('production')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('puts stack traces in error answers in development only', () => {
    expect(settings('development').includeStacktraceInErrorResponses).toBe(true);
    expect(settings('test').includeStacktraceInErrorResponses).toBe(false);
    expect(settings('production').includeStacktraceInErrorResponses).toBe(false);
  });

  it('keeps CSRF prevention on, batching off, and SIGTERM for main.ts', () => {
    const production = settings('production');
    expect(production).toMatchObject({
      nodeEnv: 'production',
      csrfPrevention: true,
      allowBatchedHttpRequests: false,
      stopOnTerminationSignals: false,
    });
    expect(production.formatError).toBeDefined();
  });

  it('has the gateway hide only its own internal errors, in production', () => {
    const gateway = (nodeEnv: 'test' | 'production') =>
      apolloSettings({
        role: 'gateway',
        nodeEnv,
        logger: createLogger('test', 'silent'),
        metrics: createMetrics('t'),
      });
    const internal = { message: 'select * from auth.users', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    const forwarded = { message: 'Image not found', extensions: { code: 'NOT_FOUND', serviceName: 'image' } };
    expect(gateway('production').formatError?.(internal, undefined)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(gateway('production').formatError?.(forwarded, undefined)).toEqual(forwarded);
    expect(gateway('test').formatError?.(internal, undefined)).toEqual(internal);
    // A subgraph running outside production sends its stack traces; a production gateway drops them.
    const traced = {
      message: 'Wrong email or password',
      extensions: {
        code: 'UNAUTHENTICATED',
        stacktrace: ['GraphQLError: ...', 'at checkPassword (auth-service.ts:313:13)'],
      },
    };
    expect(gateway('production').formatError?.(traced, undefined)).toEqual({
      message: 'Wrong email or password',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(gateway('test').formatError?.(traced, undefined)).toEqual(traced);
  });
});
