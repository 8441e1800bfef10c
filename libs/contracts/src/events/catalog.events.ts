import { z } from 'zod';
import { ids, money } from './primitives';

export const schedulePublishedV1 = z.object({
  scheduleId: ids.schedule,
  concertId: ids.concert,
  startsAt: z.string().datetime({ offset: true }),
  bookingOpensAt: z.string().datetime({ offset: true }),
  bookingClosesAt: z.string().datetime({ offset: true }),
  seats: z
    .array(z.object({ seatNo: z.number().int().min(1).max(10_000), price: money }))
    .min(1)
    .max(10_000),
});
