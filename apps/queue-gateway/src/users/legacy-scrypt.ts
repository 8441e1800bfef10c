import { scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * The gateway's first password format, `scrypt$N$r$p$salt$hash` (salt and key base64url; N=2^15,
 * r=8, p=3 by default). New hashes are argon2id; these still verify, and a successful log-in
 * replaces them (see password-hasher.ts).
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two; memory per hash is 128 * N * r bytes. */
  N: number;
  r: number;
  p: number;
}

export const SCRYPT_PREFIX = 'scrypt$';

export const deriveScrypt = (password: string, salt: Buffer, keyLength: number, { N, r, p }: ScryptParams) =>
  new Promise<Buffer>((resolve, reject) => {
    // maxmem must exceed what OpenSSL allocates (≈128 * r * (N + p + 2)); Node's 32 MiB default is too small.
    const options: ScryptOptions = { N, r, p, maxmem: 128 * r * (N + p + 2) + 1024 * 1024 };
    scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;

/** Refuses parameters no hasher of ours wrote, so a corrupted row cannot ask for gigabytes. */
export function checkScryptParams({ N, r, p }: ScryptParams): void {
  if (!isPowerOfTwo(N) || N > 2 ** 20 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) {
    throw new RangeError(`unsupported scrypt parameters N=${N} r=${r} p=${p}`);
  }
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } {
  const parts = stored.split('$');
  if (parts.length !== 6 || `${parts[0]}$` !== SCRYPT_PREFIX) throw new Error('stored password hash is not in the scrypt$N$r$p$salt$hash format');
  const [, N, r, p, salt, key] = parts;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  checkScryptParams(params);
  const saltBytes = Buffer.from(salt, 'base64url');
  const keyBytes = Buffer.from(key, 'base64url');
  if (saltBytes.length < 16 || keyBytes.length < 16) throw new Error('stored password hash has a short salt or key');
  return { params, salt: saltBytes, key: keyBytes };
}

/** Writes the legacy format (tests make such users; nothing else hashes with scrypt any more). */
export async function hashScrypt(password: string, salt: Buffer, params: ScryptParams): Promise<string> {
  checkScryptParams(params);
  const key = await deriveScrypt(password, salt, 32, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` (already normalised) matches a stored `scrypt$…` hash; runs on libuv's pool. */
export async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const { params, salt, key } = parse(stored);
  const candidate = await deriveScrypt(password, salt, key.length, params);
  return timingSafeEqual(candidate, key);
}
