import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@imagehub/service-kit';
import { loadConfig } from './config';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db' };
let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'image-config-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ ...base, DATA_DIR: dataDir });
    expect(config).toMatchObject({
      port: 4002,
      publicUrl: 'http://localhost:4000',
      signedUrlTtlSec: 3600,
      maxUploadBytes: 10 * 1024 * 1024,
      maxImagePixels: 40_000_000,
      imageBudget: { maxWebpPixels: 10_000_000, maxAvifPixels: 8_000_000, maxFrames: 1000, timeoutSec: 30 },
      uploads: { inFlightPerUser: 2, inFlight: 8, perMinute: 30, quotaBytes: 1024 * 1024 * 1024 },
      auth: {
        jwksUrl: 'http://127.0.0.1:4001/.well-known/jwks.json',
        issuer: 'imagehub-auth',
        audience: 'imagehub',
      },
    });
  });

  it('reads an upload quota of 0 as unlimited', () => {
    expect(
      loadConfig({ ...base, DATA_DIR: dataDir, UPLOAD_QUOTA_BYTES: '0' }).uploads.quotaBytes,
    ).toBeUndefined();
  });

  it('refuses to start in production without a URL signing key', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', DATA_DIR: dataDir })).toThrow(
      /URL_SIGNING_KEY/,
    );
  });

  it('refuses a signing key shorter than 32 bytes', () => {
    expect(() => loadConfig({ ...base, URL_SIGNING_KEY: 'short' })).toThrow(ConfigError);
  });

  it('generates a development key once, readable only by the owner, and reuses it', () => {
    const first = loadConfig({ ...base, DATA_DIR: dataDir });
    const file = path.join(dataDir, 'image-url-signing.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.urlSigningKey.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ ...base, DATA_DIR: dataDir }).urlSigningKey.equals(first.urlSigningKey)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.urlSigningKey.toString('utf8'));
  });

  it('reads static public keys and drops private members', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret', kid: 'k1' };
    const config = loadConfig({
      ...base,
      DATA_DIR: dataDir,
      AUTH_PUBLIC_JWKS: JSON.stringify({ keys: [jwk] }),
    });
    expect(config.auth.publicKeys).toEqual([{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', kid: 'k1' }]);
    expect(() => loadConfig({ ...base, DATA_DIR: dataDir, AUTH_PUBLIC_JWKS: '{nope' })).toThrow(
      /AUTH_PUBLIC_JWKS/,
    );
  });

  it('reports every problem at once', () => {
    expect(() => loadConfig({ MAX_UPLOAD_BYTES: '-1', PUBLIC_URL: 'not a url' })).toThrow(
      /DATABASE_URL[\s\S]*PUBLIC_URL[\s\S]*MAX_UPLOAD_BYTES|DATABASE_URL[\s\S]*MAX_UPLOAD_BYTES/,
    );
  });
});
