import { idTime, newId } from './ids';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Milliseconds since the epoch in a version 7 id's first 48 bits. */
const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newId', () => {
  it('makes RFC 9562 version 7 uuids that carry the time they were made', () => {
    const before = Date.now();
    const ids = Array.from({ length: 1_000 }, newId);
    const after = Date.now();
    for (const id of ids) {
      expect(id).toMatch(UUID);
      expect(id[14]).toBe('7'); // version
      expect('89ab').toContain(id[19]); // variant 10xx
      expect(timeOf(id)).toBeGreaterThanOrEqual(before);
      expect(timeOf(id)).toBeLessThanOrEqual(after);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sorts in creation order, also within one millisecond and across milliseconds', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2_000; i++) ids.push(newId());
      await new Promise((r) => setTimeout(r, 2));
    }
    // Plain string order is what PostgreSQL's uuid comparison gives for these (byte order).
    expect([...ids].sort()).toEqual(ids);
    const sameMillisecond = ids.filter((id, i) => i > 0 && timeOf(id) === timeOf(ids[i - 1])).length;
    expect(sameMillisecond).toBeGreaterThan(0); // the order held where the clock alone could not give it
  });

  it('tells when a version 7 id was made, and nothing for other ids', () => {
    const before = Date.now();
    const id = newId();
    expect(idTime(id)).toBeGreaterThanOrEqual(before);
    expect(idTime(id)).toBeLessThanOrEqual(Date.now());
    expect(idTime(id)).toBe(timeOf(id));
    expect(idTime('018f3c2a-7b00-7c3e-9f00-000000000000')).toBe(0x018f3c2a7b00);
    expect(idTime(crypto.randomUUID())).toBeUndefined();
    expect(idTime('not-an-id')).toBeUndefined();
    expect(idTime(`${id}0`)).toBeUndefined();
  });
});
