import type { EventType } from '@ticketing/contracts';
import type { EventHandler, EventHandlers } from '@ticketing/messaging';

/**
 * One handler per event type from every feature's handlers: where two features react to the same
 * event (payment's hold projection and its saga both take reservation.confirmed), both run, in the
 * order given, in the consumer's one transaction for the message. Spreading the sets into one object
 * instead would keep only the last feature's handler.
 */
export function combineHandlers(...sets: EventHandlers[]): EventHandlers {
  const combined = new Map<string, EventHandler<EventType>[]>();
  for (const set of sets) {
    for (const [type, handler] of Object.entries(set)) {
      if (!handler) continue;
      const list = combined.get(type) ?? [];
      list.push(handler as EventHandler<EventType>);
      combined.set(type, list);
    }
  }
  return Object.fromEntries(
    [...combined].map(([type, handlers]) => [
      type,
      handlers.length === 1
        ? handlers[0]
        : async (event: Parameters<EventHandler<EventType>>[0], ctx: Parameters<EventHandler<EventType>>[1]) => {
            for (const handler of handlers) await handler(event, ctx);
          },
    ]),
  ) as EventHandlers;
}
