import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@imagehub/service-kit';
import { keyId } from './auth/signing-keys';
import { loadConfig } from './config';

const ecPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'auth-config-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const base = () => ({ DATABASE_URL: 'postgres://u@127.0.0.1:1/db', DATA_DIR: dataDir });

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig(base());
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 4001,
      host: '127.0.0.1',
      metrics: { port: 9401, host: '127.0.0.1' },
      jwt: {
        issuer: 'imagehub-auth',
        audience: 'imagehub',
        accessTokenTtlSec: 900,
        maxTokenLifetimeSec: 3600,
      },
      sessions: { refreshTokenTtlSec: 30 * 24 * 3600, maxAgeSec: 30 * 24 * 3600, maxPerUser: 50 },
      revocation: { pollIntervalMs: 1000, listeningPollIntervalMs: 4000, maxStalenessSec: 10 },
      bcrypt: { cost: 10, maxQueue: 64, queueTimeoutMs: 1000 },
      throttle: {
        loginFailuresPerEmailAndIp: 5,
        loginLockoutBaseSec: 60,
        loginLockoutMaxSec: 3600,
        loginFailuresPerEmail: 100,
        loginFailuresPerIp: 50,
        loginFailureWindowSec: 900,
        loginsPerIp: 60,
        loginsPerAccount: 10,
        loginSuccessWindowSec: 600,
        registrationsPerIp: 20,
      },
      trustedProxies: [],
      maxJsonBodyBytes: 100 * 1024,
      messaging: { outboxPollIntervalMs: 15_000 },
    });
    expect(config.bcrypt.concurrency).toBeGreaterThanOrEqual(1);
  });

  it('requires DATABASE_URL and reports every problem at once', () => {
    const attempt = () =>
      loadConfig({ DATA_DIR: dataDir, BCRYPT_COST: '9', AUTH_PORT: 'abc', TRUST_PROXY: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/DATABASE_URL[\s\S]*AUTH_PORT|AUTH_PORT[\s\S]*DATABASE_URL/);
    expect(attempt).toThrow(/BCRYPT_COST must be at least 10/);
    expect(attempt).toThrow(/TRUST_PROXY/);
  });

  it('never allows a bcrypt cost below 10', () => {
    expect(() => loadConfig({ ...base(), BCRYPT_COST: '4' })).toThrow(/at least 10/);
    expect(loadConfig({ ...base(), BCRYPT_COST: '12' }).bcrypt.cost).toBe(12);
  });

  it("reads TRUST_PROXY as the proxies' addresses, and refuses hop counts", () => {
    expect(loadConfig({ ...base(), TRUST_PROXY: 'loopback, 10.42.0.0/16' }).trustedProxies).toEqual([
      'loopback',
      '10.42.0.0/16',
    ]);
    expect(loadConfig({ ...base(), TRUST_PROXY: 'false' }).trustedProxies).toEqual([]);
    for (const hops of ['true', '1', '2']) {
      expect(() => loadConfig({ ...base(), TRUST_PROXY: hops })).toThrow(/TRUST_PROXY must list/);
    }
  });

  it('refuses an access-token lifetime longer than the verifiers accept', () => {
    expect(() => loadConfig({ ...base(), ACCESS_TOKEN_TTL: '7200' })).toThrow(/ACCESS_TOKEN_MAX_TTL/);
    expect(
      loadConfig({ ...base(), ACCESS_TOKEN_TTL: '7200', ACCESS_TOKEN_MAX_TTL: '7200' }).jwt.accessTokenTtlSec,
    ).toBe(7200);
  });

  it('in development generates a signing key once into DATA_DIR (mode 0600) and reuses it', () => {
    const first = loadConfig(base());
    const file = path.join(dataDir, 'keys', 'jwt-es256.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig(base());
    expect(keyId(second.jwt.privateKeys[0]!)).toBe(keyId(first.jwt.privateKeys[0]!));
    expect(readFileSync(file, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('in production refuses to start without configured keys, and never generates one', () => {
    expect(() => loadConfig({ ...base(), NODE_ENV: 'production' })).toThrow(
      /production needs JWT_PRIVATE_KEYS/,
    );
    expect(() => statSync(path.join(dataDir, 'keys', 'jwt-es256.pem'))).toThrow();
    const config = loadConfig({ ...base(), NODE_ENV: 'production', JWT_PRIVATE_KEYS: ecPem() });
    expect(config.jwt.privateKeys).toHaveLength(1);
    expect(config.nodeEnv).toBe('production');
  });

  it('takes several keys from JWT_PRIVATE_KEYS (also with escaped newlines) and key files, in order', () => {
    const [a, b, c] = [ecPem(), ecPem(), ecPem()];
    const file = path.join(dataDir, 'c.pem');
    writeFileSync(file, c);
    const config = loadConfig({
      ...base(),
      NODE_ENV: 'production',
      JWT_PRIVATE_KEYS: `${a}\n${b.replace(/\n/g, '\\n')}`,
      JWT_PRIVATE_KEY_FILES: file,
    });
    expect(config.jwt.privateKeys.map(keyId)).toEqual(
      [a, b, c].map((pem) => keyId(loadConfig({ ...base(), JWT_PRIVATE_KEYS: pem }).jwt.privateKeys[0]!)),
    );
  });

  it('rejects keys that are not EC P-256, unreadable files and empty PEM text', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => loadConfig({ ...base(), JWT_PRIVATE_KEYS: rsa })).toThrow(/EC P-256/);
    expect(() => loadConfig({ ...base(), JWT_PRIVATE_KEY_FILE: path.join(dataDir, 'missing.pem') })).toThrow(
      /cannot read/,
    );
    expect(() => loadConfig({ ...base(), JWT_PRIVATE_KEYS: 'not a key' })).toThrow(/holds no PEM key/);
  });
});
