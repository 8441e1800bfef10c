import { createHash, randomUUID } from 'node:crypto';
import { auditDraw, etaErrors, fairnessBound, parseDrawnValue, percentile, ranks, spearman, type DrawnEntry } from './opening-stats';

const member = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');

describe('the sale-opening statistics', () => {
  it('ranks ties by their mean rank', () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it('Spearman: 1 for the same order, -1 for the reverse, near 0 for a shuffle', () => {
    const xs = Array.from({ length: 2_000 }, (_, i) => i);
    expect(spearman(xs, xs.map((x) => x * x + 3))).toBeCloseTo(1, 10);
    expect(spearman(xs, xs.map((x) => -x))).toBeCloseTo(-1, 10);
    // A fixed pseudo-random permutation (sha1 order), as the draw makes.
    const shuffled = [...xs].sort((a, b) => createHash('sha1').update(String(a)).digest('hex').localeCompare(createHash('sha1').update(String(b)).digest('hex')));
    expect(Math.abs(spearman(xs, shuffled))).toBeLessThan(fairnessBound(xs.length));
    expect(spearman([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 10);
    expect(() => spearman([1], [1, 2])).toThrow();
  });

  it('the fairness bound is 0.1 for 10,000 fans and wider for a few hundred', () => {
    expect(fairnessBound(10_000)).toBe(0.1);
    expect(fairnessBound(401)).toBeCloseTo(0.2, 10);
  });

  it('percentiles by nearest rank', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });

  it('ETA error is |predicted - actual| / actual, without waits of zero', () => {
    expect(etaErrors([{ predictedSeconds: 12, actualSeconds: 10 }, { predictedSeconds: 5, actualSeconds: 10 }, { predictedSeconds: 3, actualSeconds: 0 }])).toEqual([0.2, 0.5]);
  });

  it('the draw audit finds tickets that are not in sha1(seed || member) order', () => {
    const seed = 'a1b2c3';
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const order = [...ids].sort((a, b) => {
      const [ha, hb] = [a, b].map((id) => createHash('sha1').update(Buffer.concat([Buffer.from(seed), member(id)])).digest('hex'));
      return ha < hb ? -1 : 1;
    });
    const entries: DrawnEntry[] = order.map((id, i) => ({ member: member(id), preTicket: ids.indexOf(id) + 1, ticket: 100 + i }));
    expect(auditDraw(entries, seed, 100)).toEqual({ mismatched: 0 });
    expect(auditDraw(entries, 'another seed', 100).mismatched).toBeGreaterThan(0);
    const swapped = entries.map((e) => ({ ...e }));
    [swapped[3].ticket, swapped[4].ticket] = [swapped[4].ticket, swapped[3].ticket];
    expect(auditDraw(swapped, seed, 100)).toEqual({ mismatched: 2 });
  });

  it('reads a drawn hash value', () => {
    expect(parseDrawnValue('17:20051')).toEqual({ preTicket: 17, ticket: 20051 });
  });
});
