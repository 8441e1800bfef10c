import { positionUpperBound, type RoomSnapshot } from './room-snapshot';

/** A snapshot of a line holding `tickets`, with checkpoints every `spacing` tickets above the head, as the admission script makes it. */
function snapshotOf(tickets: number[], seq: number, spacing = 16): RoomSnapshot {
  const sorted = [...tickets].sort((a, b) => a - b);
  const head = sorted.length ? sorted[0] : null;
  const checkpoints = { tickets: [] as number[], ranks: [] as number[] };
  if (head !== null) {
    for (let c = (Math.floor(head / spacing) + 1) * spacing; c <= seq; c += spacing) {
      checkpoints.tickets.push(c);
      checkpoints.ranks.push(sorted.filter((t) => t < c).length);
    }
  }
  return { takenAt: 0, head, seq, waiting: sorted.length, active: 0, admissionRatePerSecond: null, admittedTotal: 0, checkpoints };
}

describe('positionUpperBound', () => {
  it('is exact for a line without holes, and 1 at the head', () => {
    const line = Array.from({ length: 100 }, (_, i) => i + 11);
    const snapshot = snapshotOf(line, 110);
    expect(line.map((t) => positionUpperBound(snapshot, t))).toEqual(line.map((_, i) => i + 1));
  });

  it('is never below the truth with holes in the line, and off by at most the holes since the last checkpoint', () => {
    const line = Array.from({ length: 200 }, (_, i) => i + 1).filter((t) => t % 3 !== 0);
    const snapshot = snapshotOf(line, 200);
    line.forEach((t, i) => {
      const bound = positionUpperBound(snapshot, t)!;
      expect(bound).toBeGreaterThanOrEqual(i + 1);
      expect(bound - (i + 1)).toBeLessThanOrEqual(6); // at most a third of one 16-ticket stretch were holes
    });
  });

  it('bounds a fan who arrived after the snapshot by everyone then waiting plus every ticket handed out since', () => {
    const snapshot = snapshotOf([5, 6, 9], 9);
    expect(positionUpperBound(snapshot, 10)).toBe(4);
    expect(positionUpperBound(snapshot, 14)).toBe(8);
  });

  it('says nothing about a ticket below the head or of an empty line: its state changed and Redis is asked', () => {
    expect(positionUpperBound(snapshotOf([20, 21], 21), 19)).toBeUndefined();
    expect(positionUpperBound(snapshotOf([], 21), 21)).toBeUndefined();
    expect(positionUpperBound(snapshotOf([], 21), 22)).toBe(1);
  });

  it('never rises from one snapshot to the next while fans ahead leave and others arrive behind', () => {
    let line = Array.from({ length: 3_000 }, (_, i) => i + 1);
    let seq = 3_000;
    const last = new Map<number, number>();
    for (let round = 0; round < 40; round++) {
      line = line.filter((t) => (t * 7919 + round * 104729) % 13 !== 0).slice(round % 3); // leaves and admissions
      line.push(...Array.from({ length: 25 }, (_, i) => seq + i + 1));
      seq += 25;
      const snapshot = snapshotOf(line, seq);
      line.forEach((t, i) => {
        const bound = positionUpperBound(snapshot, t)!;
        expect(bound).toBeGreaterThanOrEqual(i + 1);
        expect(bound).toBeLessThanOrEqual(last.get(t) ?? Infinity);
        last.set(t, bound);
      });
    }
  });
});
