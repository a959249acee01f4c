import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEV_KEY_FILE_NAME = 'jwt-es256.pem';

export interface SigningKeySources {
  /** PEM text holding one or more private keys, e.g. from an environment variable. */
  pems?: string;
  files: string[];
  /** When no key is configured, generate one into this folder once and reuse it; undefined = refuse. */
  generateInto?: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/**
 * Resolves the access-token signing keys, in order of precedence: PEMs given inline, then key
 * files, then (outside production) a key generated once into the data folder. Each key is parsed
 * into a KeyObject here, once, and must be EC P-256 (ES256).
 */
export function loadSigningKeys(sources: SigningKeySources): KeyObject[] {
  const pems: { pem: string; origin: string }[] = [];
  for (const [i, pem] of splitPems(sources.pems ?? '').entries())
    pems.push({ pem, origin: `JWT_PRIVATE_KEYS[${i}]` });
  for (const file of sources.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const blocks = splitPems(text);
    if (blocks.length === 0) throw new Error(`${file} holds no PEM key`);
    for (const pem of blocks) pems.push({ pem, origin: file });
  }
  if (sources.pems !== undefined && pems.length === 0) throw new Error('JWT_PRIVATE_KEYS holds no PEM key');
  if (pems.length === 0) {
    if (!sources.generateInto) {
      throw new Error(
        'production needs JWT_PRIVATE_KEYS or JWT_PRIVATE_KEY_FILE(S) (EC P-256 private keys in PEM)',
      );
    }
    pems.push({ pem: developmentKeyPem(sources.generateInto), origin: 'generated development key' });
  }
  return pems.map(({ pem, origin }) => parseEs256PrivateKey(pem, origin));
}

function splitPems(text: string): string[] {
  return [...text.replace(/\\n/g, '\n').matchAll(PEM_BLOCK)].map((m) => m[0]);
}

function parseEs256PrivateKey(pem: string, origin: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`${origin} is not a readable private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${origin} must be an EC P-256 key for ES256`);
  }
  return key;
}

/** Reads the development key, creating it on first start. `wx` makes two processes starting at once agree on one key. */
function developmentKeyPem(dir: string): string {
  const file = path.join(dir, DEV_KEY_FILE_NAME);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8');
}

/**
 * RFC 7638 JWK thumbprint: the same key gets the same `kid` on every replica and restart,
 * with nothing extra to configure.
 */
export function keyId(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}
