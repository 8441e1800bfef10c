import { hash as argon2Hash, parseOptions, verify as argon2Verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { hashScrypt, SCRYPT_PREFIX, verifyScrypt } from './legacy-scrypt';
import { meetsOwaspArgon2idMinimum, type Argon2idCost } from './password-policy';

/**
 * m=19 MiB, t=2, p=1: OWASP's second argon2id row. With @node-rs/argon2 (Rust, its binary inside
 * the npm package, run on libuv's thread pool, so the event loop stays free) one hash or check costs
 * about 5.5 ms alone and 8.5–9.5 ms of CPU with four at once on this project's 2-core machine: about
 * 110 log-ins per second per core. hash-wasm (WebAssembly) needed 41 ms of CPU for the same, 24 per
 * second per core, and on the event loop, where every request waits behind it.
 */
export const DEFAULT_ARGON2ID_COST: Argon2idCost = { memoryKib: 19_456, iterations: 2, parallelism: 1 };

// The package's `Algorithm` is a const enum that exists only in its type declarations; 2 is Argon2id.
const ARGON2ID = 2;
const ARGON2ID_PREFIX = '$argon2id$';
/** A stored hash asking for more than this is refused (a corrupted row must not allocate gigabytes). */
const MAX_MEMORY_KIB = 1_048_576;

export interface PasswordHasher {
  /** An argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with the configured cost. */
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `stored` (argon2id, or the older scrypt format). With no stored
   * hash (unknown user) it checks against a dummy hash of the current cost and returns false, so
   * both failures take the same time.
   */
  verify(password: string, stored: string | undefined): Promise<boolean>;
  /** True when `stored` is not argon2id at the configured cost: replace it at the next successful log-in. */
  needsRehash(stored: string): boolean;
}

// NFKC: the same password typed on another keyboard or OS may arrive as other code points.
const normalise = (password: string) => password.normalize('NFKC');

function argon2Options({ memoryKib, iterations, parallelism }: Argon2idCost) {
  return { algorithm: ARGON2ID, memoryCost: memoryKib, timeCost: iterations, parallelism };
}

function storedArgon2Cost(stored: string): Argon2idCost {
  const options = parseOptions(stored);
  if (options.algorithm !== ARGON2ID || options.memoryCost > MAX_MEMORY_KIB || options.saltLen < 16 || options.outputLen < 16) {
    throw new RangeError('unsupported argon2 parameters in a stored password hash');
  }
  return { memoryKib: options.memoryCost, iterations: options.timeCost, parallelism: options.parallelism };
}

/** Slow, salted password hashing: argon2id for new hashes; argon2id and legacy scrypt verify. */
export function createPasswordHasher(cost: Argon2idCost = DEFAULT_ARGON2ID_COST): PasswordHasher {
  if (!meetsOwaspArgon2idMinimum(cost)) throw new RangeError(`argon2id cost below OWASP's minimums: ${JSON.stringify(cost)}`);
  const options = argon2Options(cost);
  // Made once, lazily: checking against it costs one argon2id of the current cost and never succeeds.
  let dummy: Promise<string> | undefined;
  const dummyHash = () => (dummy ??= argon2Hash(randomBytes(32), options));

  return {
    hash: (password) => argon2Hash(normalise(password), options),

    async verify(password, stored) {
      const candidate = normalise(password);
      if (stored === undefined) {
        await argon2Verify(await dummyHash(), candidate);
        return false;
      }
      if (stored.startsWith(ARGON2ID_PREFIX)) {
        storedArgon2Cost(stored);
        return argon2Verify(stored, candidate);
      }
      if (stored.startsWith(SCRYPT_PREFIX)) return verifyScrypt(candidate, stored);
      throw new Error('stored password hash is neither argon2id nor scrypt');
    },

    needsRehash(stored) {
      if (!stored.startsWith(ARGON2ID_PREFIX)) return true;
      const current = storedArgon2Cost(stored);
      return current.memoryKib !== cost.memoryKib || current.iterations !== cost.iterations || current.parallelism !== cost.parallelism;
    },
  };
}

/** A password hash in the old scrypt format, as users who signed up before argon2id have (tests). */
export const legacyScryptHash = (password: string, params = { N: 2 ** 15, r: 8, p: 3 }) => hashScrypt(normalise(password), randomBytes(16), params);
