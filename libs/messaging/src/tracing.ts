import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

// Producer and consumer spans are made here rather than by @opentelemetry/instrumentation-kafkajs:
// that instrumentation parents every message of a send on the one active context and only *links*
// messages consumed in batches. The relay sends many rows, each caused by a different request, in
// one request to the broker, and the consumer applies a batch in one transaction; each message must
// still be a child of the request that caused it. The span names and attributes follow the OTel
// messaging conventions, as the instrumentation's do.

const tracer = trace.getTracer('@ticketing/messaging');

const headerGetter = {
  get: (carrier: IHeaders, key: string) => {
    const value = carrier[key];
    return Array.isArray(value) ? value[0]?.toString() : value?.toString();
  },
  keys: (carrier: IHeaders) => Object.keys(carrier),
};

/** Starts a PRODUCER span under the stored context of the request that wrote the row; returns the headers carrying it. */
export function startProducerSpan(storedContext: Record<string, string>, topic: string, key: string): { span: Span; headers: Record<string, string> } {
  const parent = propagation.extract(ROOT_CONTEXT, storedContext ?? {});
  const span = tracer.startSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': key,
      },
    },
    parent,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), headers);
  return { span, headers };
}

export function endSpan(span: Span, error?: unknown): void {
  if (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
  }
  span.end();
}

/** Runs `fn` inside a CONSUMER span that is a child of the producer span carried in the message headers. */
export async function withConsumerSpan<T>(
  message: { headers?: IHeaders; key: Buffer | null; offset: string },
  topic: string,
  partition: number,
  fn: (ctx: Context) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, message.headers ?? {}, headerGetter);
  return tracer.startActiveSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(partition),
        'messaging.kafka.offset': Number(message.offset),
        ...(message.key ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
      },
    },
    parent,
    async (span) => {
      try {
        const result = await fn(context.active());
        endSpan(span);
        return result;
      } catch (error) {
        endSpan(span, error);
        throw error;
      }
    },
  );
}
