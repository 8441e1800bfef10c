import type { EventHandlers } from '@ticketing/messaging';

/**
 * On `payment.completed` the buyer's slot is freed at once, so the next fan is admitted on the next
 * tick. Expiring a user is idempotent in Redis, so a redelivery (or a retry after the Redis call but
 * before the message id committed) does no harm.
 */
export function paymentCompletedHandlers(waitingRoom: { expireUser(userId: string): Promise<unknown> }): EventHandlers {
  return {
    'payment.completed': async (event) => {
      await waitingRoom.expireUser(event.payload.userId);
    },
  };
}
