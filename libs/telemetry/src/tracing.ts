import { context, diag, DiagConsoleLogger, DiagLogLevel, SpanKind, trace, TraceFlags, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage } from 'node:http';

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP base URL (Jaeger: http://host:4318); unset = spans are made (trace ids in logs) but not exported. */
  otlpEndpoint?: string;
  disabled?: boolean;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  /**
   * Share of new traces to record (TRACE_SAMPLE_RATIO). Unrecorded requests still carry and
   * propagate a trace id (logs and problem answers keep it); children follow their parent's decision.
   */
  sampleRatio?: number;
  /**
   * The public entrance (the gateway): it decides for outside callers. A client's `traceparent` is
   * never followed (no client picks the trace id or forces recording); it is kept as the span
   * attribute `client.traceparent`. An unsampled request is not instrumented at all (the cost of a
   * non-recording span per request and per Redis call is most of tracing's cost on a hot path); it
   * still gets a trace id (`ensureTraceContext`) that goes to the services unsampled.
   */
  publicEntrance?: boolean;
}

/** Where the gateway keeps a client's own traceparent (never followed). */
const CLIENT_TRACEPARENT = Symbol('client traceparent');

/**
 * A root sampler for the public entrance: a server span exists only for a request the entrance chose
 * to record, so it records; every other root (consumers, timers) is sampled by ratio.
 */
class EntranceRootSampler implements Sampler {
  private readonly ratio: TraceIdRatioBasedSampler;
  constructor(ratio: number) {
    this.ratio = new TraceIdRatioBasedSampler(ratio);
  }
  shouldSample(ctx: Context, traceId: string, _name: string, kind: SpanKind, _attributes: Attributes, _links: Link[]): SamplingResult {
    if (kind === SpanKind.SERVER) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.ratio.shouldSample(ctx, traceId);
  }
  toString(): string {
    return `EntranceRootSampler{${this.ratio.toString()}}`;
  }
}

/** Names a recorded server span by its matched express route (what the express instrumentation did, for much less). */
function nameSpanByRoute(span: Span, request: unknown): void {
  const req = request as { method?: string; baseUrl?: string; route?: { path?: unknown } };
  if (typeof req.route?.path !== 'string') return;
  const route = `${req.baseUrl ?? ''}${req.route.path}`;
  span.setAttribute(ATTR_HTTP_ROUTE, route);
  span.updateName(`${req.method ?? 'GET'} ${route}`);
}

let sdk: NodeSDK | undefined;

const DROP_SPANS: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

/**
 * Starts OpenTelemetry with HTTP, PostgreSQL and Redis instrumentation (Kafka spans are
 * made by libs/messaging). Must run
 * before express, pg, ioredis or kafkajs is first required, hence each app's `instrument.ts`.
 */
export function startTelemetry(options: TelemetryOptions): void {
  if (sdk || options.disabled) return;
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })));
  }
  // The SDK registers no tracer provider without a span processor: no spans, no trace ids in logs or
  // problem answers. Without an exporter, spans are still made (and propagated) and simply dropped.
  if (processors.length === 0) processors.push(DROP_SPANS);
  const ratio = options.sampleRatio ?? 1;
  const monitoring = (req: IncomingMessage) => /^\/(health|metrics)/.test(req.url ?? '');
  // The entrance's own decision, made before the instrumentation reads the headers.
  const ignoreAtEntrance = (req: IncomingMessage) => {
    if (monitoring(req)) return true;
    const client = req.headers.traceparent;
    if (client !== undefined) {
      (req as IncomingMessage & { [CLIENT_TRACEPARENT]?: unknown })[CLIENT_TRACEPARENT] = client;
      delete req.headers.traceparent;
      delete req.headers.tracestate;
    }
    return !(Math.random() < ratio);
  };
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: options.publicEntrance ? new EntranceRootSampler(ratio) : new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: processors,
    // Metrics are served by prom-client at /metrics and logs go to stdout: without these the SDK
    // would start OTLP metric and log exporters from its environment defaults.
    metricReaders: [],
    logRecordProcessors: [],
    // Only what this system speaks, each instrumentation named (the auto-instrumentations bundle
    // also starts runtime-node, whose event-loop monitor wakes every process 100 times a second even
    // with no metric reader: most of what an idle service cost). Kafka spans come from libs/messaging,
    // which keeps each message a child of the request that caused it even when many are sent or
    // applied together (see its tracing.ts). No knex instrumentation: pg already makes a span per
    // query. No express instrumentation: it walks every middleware layer of every request even when
    // it makes no span (a fifth of the gateway's throughput); the http span is named by route instead.
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: options.publicEntrance ? ignoreAtEntrance : monitoring,
        startIncomingSpanHook: (req) => {
          const client = (req as IncomingMessage & { [CLIENT_TRACEPARENT]?: unknown })[CLIENT_TRACEPARENT];
          return typeof client === 'string' ? { 'client.traceparent': client } : {};
        },
        applyCustomAttributesOnSpan: (span, request) => nameSpanByRoute(span, request),
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
}

/** The SDK's own id generator (Math.random based: ids, not secrets; crypto.randomBytes per request cost 2.5 % of a poll). */
const ids = new RandomIdGenerator();

/**
 * Middleware: a request that tracing does not record (the entrance did not sample it) still gets a
 * trace id, in a non-recording span context, so its logs and problem answers carry one and the
 * services it calls get it as an unsampled parent (see `unsampledTraceparent`). Every answer names
 * its trace in a W3C `traceresponse` header, so a client can quote it.
 */
export function ensureTraceContext(_req: unknown, res: { setHeader(name: string, value: string): unknown }, next: () => void): void {
  if (!sdk) return next();
  const active = trace.getSpan(context.active());
  if (active) {
    const { traceId, spanId, traceFlags } = active.spanContext();
    res.setHeader('traceresponse', `00-${traceId}-${spanId}-0${traceFlags & TraceFlags.SAMPLED}`);
    return next();
  }
  const traceId = ids.generateTraceId();
  const spanId = ids.generateSpanId();
  const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE });
  res.setHeader('traceresponse', `00-${traceId}-${spanId}-00`);
  context.with(trace.setSpan(context.active(), span), next);
}

/**
 * The W3C traceparent to send to a service when tracing does not inject one itself (the request is
 * not recorded, so its outgoing calls are not instrumented); undefined when it does.
 */
export function unsampledTraceparent(): string | undefined {
  const span = trace.getSpan(context.active());
  if (!span || span.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return `00-${traceId}-${spanId}-00`;
}

/** Flushes pending spans and stops the SDK (graceful shutdown). */
export async function shutdownTelemetry(): Promise<void> {
  const current = sdk;
  sdk = undefined;
  await current?.shutdown().catch(() => undefined);
}
