import { meetsOwaspArgon2idMinimum } from './password-policy';

describe("OWASP's argon2id minimums", () => {
  const cost = (memoryKib: number, iterations: number, parallelism = 1) => ({ memoryKib, iterations, parallelism });

  it('accepts each row of the cheat sheet and anything above one', () => {
    for (const [m, t] of [
      [47_104, 1],
      [19_456, 2],
      [12_288, 3],
      [9_216, 4],
      [7_168, 5],
      [65_536, 3],
      [7_168, 10],
    ]) {
      expect(meetsOwaspArgon2idMinimum(cost(m, t))).toBe(true);
    }
  });

  it('refuses a cost below every row in memory or in passes', () => {
    for (const [m, t] of [
      [47_103, 1],
      [19_455, 2],
      [12_287, 3],
      [19_456, 1],
      [7_167, 100],
      [1_024, 5],
    ]) {
      expect(meetsOwaspArgon2idMinimum(cost(m, t))).toBe(false);
    }
    expect(meetsOwaspArgon2idMinimum(cost(19_456, 2, 0))).toBe(false);
  });
});
