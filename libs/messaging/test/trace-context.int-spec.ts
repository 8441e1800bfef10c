import { SpanKind } from '@opentelemetry/api';
import { runTsProcess } from '@ticketing/testing';
import path from 'node:path';
import { createBackbone, newKey, type Backbone } from './backbone.harness';

interface SpanRecord {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

describe('trace context through the outbox and Kafka', () => {
  let bb: Backbone;
  beforeEach(async () => {
    bb = await createBackbone('trace');
  });
  afterEach(() => bb.cleanup());

  it('makes the consumer span a child of the producing request, across commit, relay and broker', async () => {
    const proc = runTsProcess(path.join(__dirname, 'fixtures/trace-roundtrip.ts'), {
      DATABASE_URL: bb.database.url,
      TOPIC_PREFIX: bb.prefix,
      EVENT_KEY: newKey(),
    });
    const line = await proc.waitForOutput(/^SPANS /, 45_000);
    const { requestSpanId, handlerSpanId, spans } = JSON.parse(line.slice('SPANS '.length)) as {
      requestSpanId: string;
      handlerSpanId: string;
      spans: SpanRecord[];
    };
    const request = spans.find((s) => s.spanId === requestSpanId)!;
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER && s.name === `send ${bb.topic}`);
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER && s.name === `process ${bb.topic}`);

    expect(request).toBeDefined();
    expect(producer).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId });
    expect(consumer).toMatchObject({ traceId: request.traceId, parentSpanId: producer!.spanId });
    // The handler runs inside the consumer span, so its database work joins the same trace.
    expect(handlerSpanId).toBe(consumer!.spanId);
    const handlerQueries = spans.filter((s) => s.parentSpanId === consumer!.spanId && s.traceId === request.traceId);
    expect(handlerQueries.length).toBeGreaterThan(0);
  });
});
