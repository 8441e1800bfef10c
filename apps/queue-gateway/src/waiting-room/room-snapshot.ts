/**
 * A small picture of one waiting room, read once per admission tick by every gateway process, from
 * which status polls and event streams are answered without a Redis call per fan.
 *
 * Positions come from checkpoints: for a ticket `c`, `rank` is how many waiting tickets were below `c`
 * when the snapshot was taken. Tickets are handed out by one increasing sequence and nobody is ever
 * put in front of a waiting fan, so for any `c` at or below the sequence that count can only fall
 * afterwards. Hence, for a ticket `t` still waiting, the number of fans ahead of it is at most
 *   rank(c) + (t − c)   for a checkpoint c ≤ t (at most t − c tickets lie between), and
 *   rank(c)             for a checkpoint c ≥ t,
 * both now and at any later time. The checkpoints sit on fixed grids of ticket numbers (see
 * CHECKPOINT_GRIDS), so a ticket keeps the same checkpoints from one snapshot to the next until they
 * fall below the head: the bound never rises between snapshots, and it is never below the truth.
 */
export interface RoomSnapshot {
  /** Milliseconds since the epoch when the admission script read the room. */
  takenAt: number;
  /** The lowest ticket waiting, or null when nobody waits. Tickets below it were admitted or left. */
  head: number | null;
  /** The last ticket handed out. */
  seq: number;
  waiting: number;
  active: number;
  /** Measured admission rate (users/s) or null before anything was measured. */
  admissionRatePerSecond: number | null;
  /** Everyone ever admitted from this room: each admission moved every fan still waiting up by one. */
  admittedTotal: number;
  /** Ascending tickets and, at the same index, the number of waiting tickets below each. */
  checkpoints: { tickets: number[]; ranks: number[] };
}

/**
 * Grids of checkpoint tickets above the head: `count` multiples of `spacing` each. Dense near the head,
 * where a fan notices a wrong position; coarse far back. Kept in step with the admission script.
 */
export const CHECKPOINT_GRIDS = [
  { spacing: 16, count: 64 },
  { spacing: 1_024, count: 64 },
  { spacing: 65_536, count: 64 },
] as const;

/** Largest index i with xs[i] <= x, or -1. */
function floorIndex(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The highest position (1 = next) a still-waiting `ticket` can have, or undefined when the snapshot
 * says the ticket is no longer in the line (below the head, or the line was empty): its state changed
 * and must be read from Redis.
 */
export function positionUpperBound(snapshot: RoomSnapshot, ticket: number): number | undefined {
  const { head, seq, waiting } = snapshot;
  if (ticket <= seq && (head === null || ticket < head)) return undefined;
  const { tickets, ranks } = snapshot.checkpoints;
  // Everyone waiting then had a ticket <= seq: a virtual checkpoint at seq + 1 with rank `waiting`.
  let ahead = ticket > seq ? waiting + (ticket - seq - 1) : Number.POSITIVE_INFINITY;
  const i = floorIndex(tickets, ticket);
  if (i >= 0) ahead = Math.min(ahead, ranks[i] + (ticket - tickets[i]));
  if (i + 1 < tickets.length) ahead = Math.min(ahead, ranks[i + 1]);
  if (head !== null && ticket >= head) ahead = Math.min(ahead, ticket - head);
  return Number.isFinite(ahead) ? ahead + 1 : undefined;
}

/** Decodes the admission script's flat reply: {takenAt, head|-1, seq, waiting, active, rate, observed, admittedTotal, n, c1, r1, ...}. */
export function parseSnapshotReply(reply: unknown[], rate: (decayed: number, observedMs: number) => number | null): RoomSnapshot {
  const num = (v: unknown) => (v === '' || v === null || v === undefined ? 0 : Number(v));
  const head = num(reply[1]);
  const n = num(reply[8]);
  const tickets: number[] = [];
  const ranks: number[] = [];
  for (let i = 0; i < n; i++) {
    tickets.push(num(reply[9 + 2 * i]));
    ranks.push(num(reply[10 + 2 * i]));
  }
  return {
    takenAt: num(reply[0]),
    head: head < 0 ? null : head,
    seq: num(reply[2]),
    waiting: num(reply[3]),
    active: num(reply[4]),
    admissionRatePerSecond: rate(num(reply[5]), num(reply[6])),
    admittedTotal: num(reply[7]),
    checkpoints: { tickets, ranks },
  };
}
