import { createQueueTokens, createVerifiedTokenCache } from '../src/access/queue-token';

const SECRET = 'a-queue-token-secret-of-at-least-32-bytes';

/** A JWT-shaped token whose payload says `exp` (the cache reads it only after `verify` accepted the token). */
const tokenExpiringAt = (expSeconds: number, id = 'x') => `h.${Buffer.from(JSON.stringify({ exp: expSeconds, id })).toString('base64url')}.s`;

describe('verified token cache', () => {
  it('verifies a token once and answers from memory until the token’s own exp, then verifies again', async () => {
    let clock = 1_000_000;
    const cache = createVerifiedTokenCache<string>({ now: () => clock });
    const verify = jest.fn(async (token: string) => `ok:${token.length}`);
    const token = tokenExpiringAt(1_000 + 60); // exp = clock + 60 s

    expect(await cache.get(token, verify)).toBe(`ok:${token.length}`);
    clock += 59_999;
    expect(await cache.get(token, verify)).toBe(`ok:${token.length}`);
    expect(verify).toHaveBeenCalledTimes(1);

    clock += 1; // exp reached: never answered from memory again
    verify.mockRejectedValueOnce(new Error('expired'));
    await expect(cache.get(token, verify)).rejects.toThrow('expired');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('never remembers a refusal, and stays within its bound', async () => {
    const cache = createVerifiedTokenCache<string>({ maxEntries: 2, now: () => 0 });
    const verify = jest.fn(async (token: string) => token);
    const bad = tokenExpiringAt(100, 'bad');
    const refuse = jest.fn(async () => {
      throw new Error('forged');
    });
    await expect(cache.get(bad, refuse)).rejects.toThrow('forged');
    await expect(cache.get(bad, refuse)).rejects.toThrow('forged');
    expect(refuse).toHaveBeenCalledTimes(2);

    const [a, b, c] = ['a', 'b', 'c'].map((id) => tokenExpiringAt(100, id));
    for (const t of [a, b, c]) await cache.get(t, verify);
    await cache.get(a, verify); // evicted by c (oldest first): verified again
    expect(verify.mock.calls.map(([t]) => t)).toEqual([a, b, c, a]);
  });

  it('queue tokens: a forged or foreign-audience token is refused every time, a genuine one keeps its claims', async () => {
    const tokens = createQueueTokens({ secret: SECRET });
    const genuine = await tokens.issue({ userId: '0b6d1c2e-0000-4000-8000-000000000001', concertId: '0b6d1c2e-0000-4000-8000-0000000000c1', ticket: 7 });
    expect(await tokens.verify(genuine)).toEqual({ userId: '0b6d1c2e-0000-4000-8000-000000000001', concertId: '0b6d1c2e-0000-4000-8000-0000000000c1', ticket: 7 });
    expect(await tokens.verify(genuine)).toEqual({ userId: '0b6d1c2e-0000-4000-8000-000000000001', concertId: '0b6d1c2e-0000-4000-8000-0000000000c1', ticket: 7 });

    const forged = `${genuine.slice(0, genuine.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    for (let i = 0; i < 2; i++) await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'QUEUE_TOKEN_INVALID' });
    const other = await createQueueTokens({ secret: `${SECRET}-other` }).issue({ userId: '0b6d1c2e-0000-4000-8000-000000000001', concertId: '0b6d1c2e-0000-4000-8000-0000000000c1', ticket: 7 });
    await expect(tokens.verify(other)).rejects.toMatchObject({ code: 'QUEUE_TOKEN_INVALID' });
  });

  it('queue tokens: one past its lifetime is refused as expired, even after it was accepted', async () => {
    const tokens = createQueueTokens({ secret: SECRET, ttlSeconds: 1 });
    const token = await tokens.issue({ userId: '0b6d1c2e-0000-4000-8000-000000000002', concertId: '0b6d1c2e-0000-4000-8000-0000000000c1', ticket: 8 });
    expect(await tokens.verify(token)).toMatchObject({ ticket: 8 });
    await new Promise((r) => setTimeout(r, 2_100));
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'QUEUE_TOKEN_EXPIRED' });
  });
});
