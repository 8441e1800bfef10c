import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two; memory per hash is 128 * N * r bytes. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation; Node runs the p lanes one after another on one libuv thread. */
  p: number;
}

/**
 * N=2^15, r=8, p=3: one of OWASP's equivalent scrypt minimums (Password Storage Cheat Sheet),
 * chosen over N=2^17, p=1 for the same work with 32 MiB per hash instead of 128 MiB, as four
 * logins hash at once per process (the libuv pool). About 0.1-0.3 s per hash on a server core.
 * Stored hashes carry their own parameters, so raising these later does not break old ones.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 3 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt';

export interface PasswordHasher {
  /** `scrypt$N$r$p$salt$hash` (salt and hash base64url): self-describing, so parameters can change. */
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `stored`. With no stored hash (unknown user) it still does the
   * same scrypt work against a dummy hash and returns false, so both failures take the same time.
   */
  verify(password: string, stored: string | undefined): Promise<boolean>;
}

const scrypt = (password: string, salt: Buffer, keyLength: number, { N, r, p }: ScryptParams) =>
  new Promise<Buffer>((resolve, reject) => {
    // maxmem must exceed what OpenSSL allocates (≈128 * r * (N + p + 2)); Node's 32 MiB default is too small.
    const options: ScryptOptions = { N, r, p, maxmem: 128 * r * (N + p + 2) + 1024 * 1024 };
    // NFKC: the same password typed on another keyboard or OS may arrive as other code points.
    scryptCallback(password.normalize('NFKC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;

/** Refuses parameters no hasher of ours wrote, so a corrupted row cannot ask for gigabytes. */
function checkParams({ N, r, p }: ScryptParams): void {
  if (!isPowerOfTwo(N) || N > 2 ** 20 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) {
    throw new RangeError(`unsupported scrypt parameters N=${N} r=${r} p=${p}`);
  }
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) throw new Error('stored password hash is not in the scrypt$N$r$p$salt$hash format');
  const [, N, r, p, salt, key] = parts;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  checkParams(params);
  const saltBytes = Buffer.from(salt, 'base64url');
  const keyBytes = Buffer.from(key, 'base64url');
  if (saltBytes.length < 16 || keyBytes.length < 16) throw new Error('stored password hash has a short salt or key');
  return { params, salt: saltBytes, key: keyBytes };
}

const format = ({ N, r, p }: ScryptParams, salt: Buffer, key: Buffer) =>
  [PREFIX, N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');

/** Slow, salted password hashing with scrypt (node:crypto, off the event loop). */
export function createPasswordHasher(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): PasswordHasher {
  checkParams(params);
  // Random bytes in the stored format: verifying against it costs exactly one scrypt with the
  // current parameters and can never succeed (no password derives a key nobody derived).
  const dummy = format(params, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));

  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      return format(params, salt, await scrypt(password, salt, KEY_BYTES, params));
    },
    async verify(password, stored) {
      const { params: storedParams, salt, key } = parse(stored ?? dummy);
      const candidate = await scrypt(password, salt, key.length, storedParams);
      return timingSafeEqual(candidate, key) && stored !== undefined;
    },
  };
}
