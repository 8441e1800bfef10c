import type { CallerIdentity } from './internal-auth';
import { ProblemError } from './problem';

/**
 * Admitted for one sale only: an `active` caller acts on dates of the concert whose waiting room
 * admitted it (`caller.sale`, signed by the gateway), and on no other. Called by the service that
 * knows which concert a date belongs to, before it changes anything. Throws 403 FORBIDDEN for a
 * caller that is not admitted at all, and 403 WRONG_SALE for one admitted to another concert's sale,
 * or whose credentials name no sale. `concertId` null = the concert is not known (a hold from before
 * sales existed): no admission covers it.
 */
export function assertAdmittedFor(caller: CallerIdentity | undefined, concertId: string | null): void {
  if (caller?.access !== 'active') throw new ProblemError('FORBIDDEN', 'only fans admitted from the waiting room may do this');
  if (caller.sale && concertId !== null && caller.sale.concertId === concertId) return;
  const detail = !caller.sale
    ? 'your admission names no sale; line up in the waiting room of this concert'
    : concertId === null
      ? 'this hold was made before sales per concert existed; hold the seat again'
      : `you were admitted to the sale of concert ${caller.sale.concertId}; this date belongs to concert ${concertId}: line up in its waiting room`;
  throw new ProblemError('WRONG_SALE', detail, { concertId, admittedFor: caller.sale?.concertId ?? null });
}
