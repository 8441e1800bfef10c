import { hash as argon2Hash } from '@node-rs/argon2';
import { createPasswordHasher, DEFAULT_ARGON2ID_COST, legacyScryptHash } from './password-hasher';

// Cheap legacy parameters so the suite stays fast; the gateway's own legacy cost runs in the integration tests.
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

describe('password hasher (argon2id, legacy scrypt verified)', () => {
  const hasher = createPasswordHasher();

  it('verifies the password it hashed and refuses another', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    await expect(hasher.verify('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(hasher.verify('correct horse battery stapler', stored)).resolves.toBe(false);
    await expect(hasher.verify('Correct horse battery staple', stored)).resolves.toBe(false);
  });

  it('stores an argon2id PHC string with the configured cost and a 16-byte salt, never the password', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(stored).toMatch(PHC);
    expect(stored).not.toContain('horse');
  });

  it('salts every hash afresh: the same password gives different strings that both verify', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
    expect(a).not.toBe(b);
    await expect(hasher.verify('same password', a)).resolves.toBe(true);
    await expect(hasher.verify('same password', b)).resolves.toBe(true);
  });

  it('verifies an old scrypt hash and says it needs replacing; an argon2id one of the current cost does not', async () => {
    const old = await legacyScryptHash('pa55word!', FAST_SCRYPT);
    expect(old).toMatch(/^scrypt\$1024\$8\$1\$/);
    await expect(hasher.verify('pa55word!', old)).resolves.toBe(true);
    await expect(hasher.verify('pa55word?', old)).resolves.toBe(false);
    expect(hasher.needsRehash(old)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('pa55word!'))).toBe(false);
  });

  it('verifies with the cost stored in the hash, and asks to rehash one of another cost', async () => {
    const stronger = createPasswordHasher({ memoryKib: 12_288, iterations: 3, parallelism: 1 });
    const old = await hasher.hash('pa55word!');
    await expect(stronger.verify('pa55word!', old)).resolves.toBe(true);
    expect(stronger.needsRehash(old)).toBe(true);
    expect(await stronger.hash('pa55word!')).toMatch(/^\$argon2id\$v=19\$m=12288,t=3,p=1\$/);
  });

  it('answers false for an unknown user (no stored hash), whatever the password', async () => {
    await expect(hasher.verify('anything at all', undefined)).resolves.toBe(false);
    await expect(hasher.verify('', undefined)).resolves.toBe(false);
  });

  it('treats canonically equivalent Unicode as the same password, in both formats', async () => {
    const composed = 'caf\u00e9-pass';
    const decomposed = 'cafe\u0301-pass';
    await expect(hasher.verify(decomposed, await hasher.hash(composed))).resolves.toBe(true);
    await expect(hasher.verify(decomposed, await legacyScryptHash(composed, FAST_SCRYPT))).resolves.toBe(true);
  });

  it('refuses a malformed stored hash, another argon2 variant, or a cost no hasher of ours would write', async () => {
    await expect(hasher.verify('x', 'plaintext')).rejects.toThrow(/neither argon2id nor scrypt/);
    await expect(hasher.verify('x', 'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(RangeError);
    await expect(hasher.verify('x', '$argon2id$v=19$m=4194304,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(RangeError);
    // argon2i (algorithm 1) is not what we write: refused rather than checked.
    const argon2i = await argon2Hash('x', { algorithm: 1 as never });
    await expect(hasher.verify('x', argon2i)).rejects.toThrow(/neither argon2id nor scrypt/);
  });

  it('refuses a cost below OWASP minimums at construction', () => {
    expect(() => createPasswordHasher({ memoryKib: 19_456, iterations: 1, parallelism: 1 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ memoryKib: 4_096, iterations: 10, parallelism: 1 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ memoryKib: 9_216, iterations: 4, parallelism: 1 })).not.toThrow();
  });

  it("defaults to OWASP's m=19 MiB, t=2, p=1", () => {
    expect(DEFAULT_ARGON2ID_COST).toEqual({ memoryKib: 19_456, iterations: 2, parallelism: 1 });
  });
});
