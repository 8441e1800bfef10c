import type { Admission } from '../access/access.middleware';
import type { QueueTokenClaims } from '../access/queue-token';
import type { Rooms } from './rooms';

/**
 * The access check's view of the rooms: where a queue token stands, in the token's own room. A
 * pre-queue token names its pre-queue entry; after the opening it stands for the ticket that entry was
 * drawn (looked up once, then remembered), and everything else treats it as that ticket.
 */
export function createAdmissions(rooms: Rooms) {
  /** The ticket the token stands for now, or its place when it has none (still in the pre-queue, or gone). */
  async function ticketOf(claims: QueueTokenClaims): Promise<Admission | number> {
    if (!claims.preQueue) return claims.ticket;
    const remembered = rooms.peekDrawn(claims.concertId, claims.userId, claims.ticket);
    if (remembered !== undefined) return remembered;
    const resolved = await rooms.room(claims.concertId).waitingRoom.resolvePreQueue(claims.userId, claims.ticket);
    if (resolved.status === 'DRAWN') {
      rooms.rememberDrawn(claims.concertId, claims.userId, claims.ticket, resolved.ticket);
      return resolved.ticket;
    }
    return { ticket: claims.ticket, view: resolved };
  }

  return {
    /** Exact, from Redis (routes that act on the admission). */
    async exact(claims: QueueTokenClaims): Promise<Admission> {
      const ticket = await ticketOf(claims);
      if (typeof ticket !== 'number') return ticket;
      return { ticket, view: await rooms.room(claims.concertId).waitingRoom.status(claims.userId, ticket) };
    },

    /** From this process's snapshot of the room where it can be (status polls, event streams). */
    async fromSnapshot(claims: QueueTokenClaims): Promise<Admission> {
      const ticket = await ticketOf(claims);
      if (typeof ticket !== 'number') return ticket;
      return { ticket, view: await rooms.room(claims.concertId).view.status(claims.userId, ticket) };
    },

    /** The same from memory at once, or undefined. */
    peek(claims: QueueTokenClaims): Admission | undefined {
      const ticket = claims.preQueue ? rooms.peekDrawn(claims.concertId, claims.userId, claims.ticket) : claims.ticket;
      if (ticket === undefined) return undefined;
      const view = rooms.room(claims.concertId).view.peek(claims.userId, ticket);
      return view ? { ticket, view } : undefined;
    },
  };
}

export type Admissions = ReturnType<typeof createAdmissions>;
