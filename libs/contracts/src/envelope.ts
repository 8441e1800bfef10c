import { z } from 'zod';

/** Every Kafka message body: one envelope, the payload validated by the schema of its type. */
export const envelopeSchema = z.object({
  id: z.string().uuid(),
  type: z.string().regex(/^[a-z]+(\.[a-z]+(-[a-z]+)*)+$/),
  version: z.number().int().min(1),
  occurredAt: z.string().datetime({ offset: true }),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).nullable(),
  payload: z.unknown(),
});

export type EnvelopeBase = z.infer<typeof envelopeSchema>;

/** A typed envelope: `type` and `payload` are tied together by the event catalogue. */
export interface EventEnvelope<T extends string = string, P = unknown> extends Omit<EnvelopeBase, 'type' | 'payload'> {
  type: T;
  payload: P;
}
