import { z } from './zod';
import { ids, isoTime, money, seatNo } from '../events/primitives';
import { nextCursor } from './paging';

export const RESERVATION_STATUSES = ['HELD', 'CANCELLED', 'EXPIRED', 'SOLD'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** POST /api/v1/reservations: hold a seat for the caller (the user comes from the credentials, never the body). */
export const holdSeatRequest = z
  .object({
    scheduleId: ids.schedule.openapi({ example: '6f1c2a4e-3b7d-4e8a-9c1f-2d3e4f5a6b7c' }),
    seatNo: seatNo.openapi({ example: 17 }),
  })
  .strict()
  .openapi('HoldSeatRequest');
export type HoldSeatRequest = z.infer<typeof holdSeatRequest>;

export const holdSeatResponse = z
  .object({
    reservationId: ids.reservation,
    status: z.literal('HELD'),
    holdExpiresAt: isoTime,
    price: money,
  })
  .openapi('HoldSeatResponse');
export type HoldSeatResponse = z.infer<typeof holdSeatResponse>;

/** Path parameters of DELETE /api/v1/reservations/{reservationId}. */
export const reservationIdParams = z.object({ reservationId: ids.reservation }).openapi('ReservationIdParams');

/** One of the caller's reservations. `holdExpiresAt` is set while HELD; `paymentId` once SOLD. */
export const reservationView = z
  .object({
    reservationId: ids.reservation,
    scheduleId: ids.schedule,
    seatNo,
    status: z.enum(RESERVATION_STATUSES),
    price: money,
    holdExpiresAt: isoTime.nullable(),
    paymentId: ids.payment.nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Reservation');
export type ReservationView = z.infer<typeof reservationView>;

/** GET /api/v1/reservations?limit&cursor: the caller's reservations, newest first, a page at a time. */
export const listReservationsResponse = z.object({ reservations: z.array(reservationView), nextCursor }).openapi('ReservationList');
export type ListReservationsResponse = z.infer<typeof listReservationsResponse>;
