import { z } from './zod';
import { ids, isoTime } from '../events/primitives';

/** A place in the waiting room, as GET /queue/status and every /queue/events message carry it. */
export const queueStatusResponse = z
  .object({
    status: z.enum(['PRE_QUEUE', 'WAITING', 'ACTIVE', 'EXPIRED']).openapi({
      description: 'PRE_QUEUE: entered before the sale opened, a place is drawn at random at `opensAt`; WAITING: in line; ACTIVE: admitted; EXPIRED: paid, left or timed out',
    }),
    concertId: ids.concert.openapi({ description: 'the sale (concert) whose waiting room this place is in' }),
    position: z.number().int().min(1).nullable().openapi({ description: '1 = next to be admitted; null unless WAITING' }),
    etaSeconds: z.number().int().min(0).nullable().openapi({ description: 'estimated wait, from the measured admission rate' }),
    opensAt: isoTime.nullable().openapi({ description: 'when the sale opens and the pre-queue is drawn; null unless PRE_QUEUE' }),
    activeUntil: isoTime.nullable().openapi({ description: 'when an ACTIVE slot lapses; null unless ACTIVE' }),
    pollAfterMs: z.number().int().min(0).openapi({ description: 'how long to wait before polling again' }),
  })
  .openapi('QueueStatus');
export type QueueStatusResponse = z.infer<typeof queueStatusResponse>;

/** POST /queue/tokens: enter one concert's waiting room (`proof` when the sale asks for a proof-of-work). */
export const queueEntryRequest = z
  .object({
    concertId: ids.concert,
    proof: z
      .object({ challenge: z.string().min(1).max(512), nonce: z.string().min(1).max(64) })
      .strict()
      .optional()
      .openapi({ description: 'the answer to GET /queue/challenge?concertId=… when the sale asks for one' }),
  })
  .strict()
  .openapi('QueueEntryRequest');
export type QueueEntryRequest = z.infer<typeof queueEntryRequest>;

/** GET /queue/challenge?concertId=…: find `nonce` with sha256(`<challenge>:<nonce>`) starting with `difficulty` zero bits. */
export const queueChallengeResponse = z
  .object({
    challenge: z.string(),
    difficulty: z.number().int().min(0).openapi({ description: 'leading zero bits asked of sha256(challenge + ":" + nonce); 0 = this sale asks for none' }),
    algorithm: z.literal('sha256'),
    expiresAt: isoTime,
  })
  .openapi('QueueChallenge');
export type QueueChallengeResponse = z.infer<typeof queueChallengeResponse>;

/** POST /queue/tokens: the token to send as X-Queue-Token, with the place it holds. */
export const queueTokenResponse = queueStatusResponse
  .extend({ queueToken: z.string().min(1).openapi({ description: 'Send as `X-Queue-Token` together with the session.' }) })
  .openapi('QueueToken');
export type QueueTokenResponse = z.infer<typeof queueTokenResponse>;

/** RFC 9457 problem details, as every error of the API is answered. */
export const problemResponse = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ description: 'stable, machine-readable error code' }),
    detail: z.string(),
    traceId: z.string().optional(),
  })
  .passthrough()
  .openapi('Problem');
