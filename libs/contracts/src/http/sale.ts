import { z } from './zod';
import { ids, isoTime } from '../events/primitives';
import { concertSummary } from './catalog';

/**
 * A concert's sale: when its waiting room opens (the pre-queue), when the sale opens (the pre-queue's
 * random draw, then admission in arrival order), how many fans may be admitted at once and how fast.
 * The catalog owns it; the gateway learns it from `sale.configured`.
 */
export const SALE_MODES = ['queue', 'passthrough'] as const;
export const saleMode = z.enum(SALE_MODES).openapi({
  description: '`queue`: everyone lines up and is admitted at the set rate; `passthrough`: admitted at once while fewer than maxActive are, queued only above it',
});
export type SaleMode = z.infer<typeof saleMode>;

/** Bounds of a sale's numbers (the catalog refuses others with 400 VALIDATION_FAILED). */
export const SALE_LIMITS = {
  maxActive: { min: 1, max: 100_000 },
  admitPerMinute: { min: 1, max: 1_000_000 },
  activeMinutes: { min: 1, max: 120 },
  /** Leading zero bits a proof-of-work answer must have; 0 = no proof asked. */
  powDifficulty: { min: 0, max: 28 },
} as const;

const bounded = (key: keyof typeof SALE_LIMITS, example: number, description: string) =>
  z.number().int().min(SALE_LIMITS[key].min).max(SALE_LIMITS[key].max).openapi({ example, description });

/**
 * PUT /api/v1/admin/concerts/{concertId}/sale: the whole sale, replaced. `queueOpensAt` ≤ `saleOpensAt`
 * (equal = no pre-queue); the catalog checks that cross-field rule and answers 400 VALIDATION_FAILED
 * naming the field.
 */
export const saleSettingsRequest = z
  .object({
    queueOpensAt: isoTime.openapi({ description: 'fans may enter the waiting room from here on (the pre-queue)' }),
    saleOpensAt: isoTime.openapi({ description: 'the pre-queue is drawn in random order and admission starts' }),
    maxActive: bounded('maxActive', 500, 'never more fans admitted at once'),
    admitPerMinute: bounded('admitPerMinute', 600, 'admission rate, across every gateway instance'),
    activeMinutes: bounded('activeMinutes', 5, 'how long an admitted fan may browse, hold and pay'),
    mode: saleMode.default('queue'),
    powDifficulty: bounded('powDifficulty', 0, 'proof-of-work asked on entering the room (leading zero bits of sha256); 0 = off').default(0),
  })
  .strict()
  .openapi('SaleSettingsRequest');
export type SaleSettingsRequest = z.input<typeof saleSettingsRequest>;
export type SaleSettings = z.output<typeof saleSettingsRequest>;

/** The sale as the admin set it, with its revision (each PUT adds one; the gateway keeps the newest). */
export const saleResponse = saleSettingsRequest
  .extend({ concertId: ids.concert, revision: z.number().int().min(1), updatedAt: isoTime })
  .openapi('Sale');
export type SaleResponse = z.infer<typeof saleResponse>;

/** What anyone may see of a sale: when it opens and how. */
export const publicSale = z
  .object({ queueOpensAt: isoTime, saleOpensAt: isoTime, mode: saleMode })
  .openapi('PublicSale');
export type PublicSale = z.infer<typeof publicSale>;

/** GET /api/v1/concerts/{concertId}: the concert and its sale's public part (null until a sale is configured). */
export const concertDetailResponse = concertSummary.extend({ sale: publicSale.nullable() }).openapi('ConcertDetail');
export type ConcertDetailResponse = z.infer<typeof concertDetailResponse>;
