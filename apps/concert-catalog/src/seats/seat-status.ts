import type { EventType, SeatStatus } from '@ticketing/contracts';

/** The reservation events that move a seat, and where each leaves it. */
export const SEAT_EVENT_TYPES = ['reservation.held', 'reservation.cancelled', 'hold.expired', 'reservation.confirmed'] as const satisfies readonly EventType[];
export type SeatEventType = (typeof SEAT_EVENT_TYPES)[number];

export function seatStatusAfter(type: SeatEventType): SeatStatus {
  switch (type) {
    case 'reservation.held':
      return 'HELD';
    case 'reservation.cancelled':
    case 'hold.expired':
      return 'AVAILABLE';
    case 'reservation.confirmed':
      return 'SOLD';
    default: {
      const unknown: never = type;
      throw new Error(`not a seat event: ${String(unknown)}`);
    }
  }
}
