import { createPasswordHasher, DEFAULT_SCRYPT_PARAMS } from './password-hasher';

// Low cost so the suite stays fast; the production parameters run in the integration tests.
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('password hasher (scrypt)', () => {
  const hasher = createPasswordHasher(FAST);

  it('verifies the password it hashed and refuses another', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    await expect(hasher.verify('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(hasher.verify('correct horse battery stapler', stored)).resolves.toBe(false);
    await expect(hasher.verify('Correct horse battery staple', stored)).resolves.toBe(false);
  });

  it('stores a self-describing scrypt$N$r$p$salt$hash string, never the password', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    // 16-byte salt and 32-byte key in unpadded base64url.
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain('horse');
  });

  it('salts every hash afresh: the same password gives different strings that both verify', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    await expect(hasher.verify('same password', a)).resolves.toBe(true);
    await expect(hasher.verify('same password', b)).resolves.toBe(true);
  });

  it('verifies with the parameters stored in the hash, so raising the cost keeps old hashes valid', async () => {
    const old = await hasher.hash('pa55word!');
    const stronger = createPasswordHasher({ N: 2 ** 11, r: 8, p: 2 });
    await expect(stronger.verify('pa55word!', old)).resolves.toBe(true);
    expect(await stronger.hash('pa55word!')).toMatch(/^scrypt\$2048\$8\$2\$/);
  });

  it('answers false for an unknown user (no stored hash), whatever the password', async () => {
    await expect(hasher.verify('anything at all', undefined)).resolves.toBe(false);
    await expect(hasher.verify('', undefined)).resolves.toBe(false);
  });

  it('treats canonically equivalent Unicode as the same password', async () => {
    const composed = 'caf\u00e9-pass';
    const decomposed = 'cafe\u0301-pass';
    await expect(hasher.verify(decomposed, await hasher.hash(composed))).resolves.toBe(true);
  });

  it('refuses a malformed stored hash or parameters it would never write', async () => {
    await expect(hasher.verify('x', 'plaintext')).rejects.toThrow(/format/);
    await expect(hasher.verify('x', 'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(RangeError);
    await expect(hasher.verify('x', `scrypt$${2 ** 24}$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA`)).rejects.toThrow(RangeError);
    expect(() => createPasswordHasher({ N: 3, r: 8, p: 1 })).toThrow(RangeError);
  });

  it('defaults to an OWASP-equivalent cost (N=2^15, r=8, p=3)', () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 32768, r: 8, p: 3 });
  });
});
