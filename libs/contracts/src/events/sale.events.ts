import { z } from 'zod';
import { ids, isoTime } from './primitives';

/**
 * catalog → gateway: a concert's waiting-room settings (the whole sale, after every change). Keyed
 * by concert id; `revision` grows by one per change, so a consumer keeps the highest it has seen and
 * ignores an older or repeated one.
 */
export const saleConfiguredV1 = z.object({
  concertId: ids.concert,
  revision: z.number().int().min(1),
  queueOpensAt: isoTime,
  saleOpensAt: isoTime,
  maxActive: z.number().int().min(1),
  admitPerMinute: z.number().int().min(1),
  activeMinutes: z.number().int().min(1),
  mode: z.enum(['queue', 'passthrough']),
  powDifficulty: z.number().int().min(0).max(32),
});
