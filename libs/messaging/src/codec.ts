import {
  EVENTS,
  envelopeSchema,
  isEventType,
  type EventEnvelope,
  type EventPayload,
  type EventType,
} from '@ticketing/contracts';
import { newId } from '@ticketing/db';
import type { ZodError } from 'zod';
import { ContractViolationError } from './errors';

export type AnyEnvelope = { [T in EventType]: EventEnvelope<T, EventPayload<T>> }[EventType];

export interface NewEvent<T extends EventType = EventType> {
  type: T;
  /** Kafka key: the aggregate id, so every event of one aggregate is processed in order. */
  key: string;
  payload: EventPayload<T>;
  /** The event or request that caused this one; defaults to a fresh correlation. */
  correlationId?: string;
  causationId?: string | null;
  id?: string;
  occurredAt?: Date;
}

const issuesOf = (error: ZodError) => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);

/** Builds and validates an envelope against its contract (validation on send). */
export function encodeEvent<T extends EventType>(event: NewEvent<T>): EventEnvelope<T, EventPayload<T>> {
  if (!isEventType(event.type)) throw new ContractViolationError(`unknown event type ${String(event.type)}`);
  const spec = EVENTS[event.type];
  const parsed = spec.schema.safeParse(event.payload);
  if (!parsed.success) throw new ContractViolationError(`${event.type} payload`, issuesOf(parsed.error));
  const id = event.id ?? newId();
  return {
    id,
    type: event.type,
    version: spec.version,
    occurredAt: (event.occurredAt ?? new Date()).toISOString(),
    correlationId: event.correlationId ?? id,
    causationId: event.causationId ?? null,
    payload: parsed.data as EventPayload<T>,
  };
}

/**
 * Parses and validates a received message (validation on receive). Throws ContractViolationError for
 * anything that can never succeed: bad JSON, a bad envelope, an unknown type or version, a failing payload.
 */
export function decodeEvent(raw: Buffer | string | null): AnyEnvelope {
  if (raw === null) throw new ContractViolationError('empty message (tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch (error) {
    throw new ContractViolationError(`malformed JSON: ${(error as Error).message}`);
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) throw new ContractViolationError('invalid envelope', issuesOf(envelope.error));
  const { type, version } = envelope.data;
  if (!isEventType(type)) throw new ContractViolationError(`unknown event type ${type}`);
  const spec = EVENTS[type];
  // Every type is at version 1 today; an older version would be upcast here before validation.
  if (version !== spec.version) throw new ContractViolationError(`${type} version ${version} is not supported (current ${spec.version})`);
  const payload = spec.schema.safeParse(envelope.data.payload);
  if (!payload.success) throw new ContractViolationError(`${type} payload`, issuesOf(payload.error));
  return { ...envelope.data, type, payload: payload.data } as AnyEnvelope;
}
