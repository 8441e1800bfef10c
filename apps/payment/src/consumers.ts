import type { EventHandlers, EventHandler } from '@ticketing/messaging';
import type { EventType } from '@ticketing/contracts';

/**
 * One handler per event type from several features: where two features react to the same event
 * (reservation.confirmed updates the hold projection and moves the saga), both run, in order, in
 * the same transaction.
 */
export function combineHandlers(...sets: EventHandlers[]): EventHandlers {
  const combined: Record<string, EventHandler<EventType>[]> = {};
  for (const set of sets) {
    for (const [type, handler] of Object.entries(set)) (combined[type] ??= []).push(handler as EventHandler<EventType>);
  }
  return Object.fromEntries(
    Object.entries(combined).map(([type, handlers]) => [
      type,
      handlers.length === 1
        ? handlers[0]
        : async (event: Parameters<EventHandler<EventType>>[0], ctx: Parameters<EventHandler<EventType>>[1]) => {
            for (const handler of handlers) await handler(event, ctx);
          },
    ]),
  ) as EventHandlers;
}
