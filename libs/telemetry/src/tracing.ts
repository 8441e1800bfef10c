import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP base URL (Jaeger: http://host:4318); unset = spans are made (trace ids in logs) but not exported. */
  otlpEndpoint?: string;
  disabled?: boolean;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  /**
   * Share of new traces to record (default 1). Unrecorded requests still carry and propagate a
   * trace id (logs and problem answers keep it); recording every span costs the gateway about half
   * its throughput, so a busy sale may want less.
   */
  sampleRatio?: number;
}

let sdk: NodeSDK | undefined;

const DROP_SPANS: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

/**
 * Starts OpenTelemetry with HTTP, Express, PostgreSQL and Redis instrumentation (Kafka spans are
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
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: processors,
    // Metrics are served by prom-client at /metrics and logs go to stdout: without these the SDK
    // would start OTLP metric and log exporters from its environment defaults.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      getNodeAutoInstrumentations({
        // Only what this system speaks; the rest is noise and start-up cost.
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        '@opentelemetry/instrumentation-pino': { enabled: false }, // our logger adds trace ids itself
        // Kafka spans come from libs/messaging, which keeps each message a child of the request
        // that caused it even when many are sent or applied together (see its tracing.ts).
        '@opentelemetry/instrumentation-kafkajs': { enabled: false },
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? ''),
        },
        '@opentelemetry/instrumentation-pg': { enhancedDatabaseReporting: false },
        // One span per request (http) named by its route is what an SRE reads; a span per middleware
        // layer (express, router) costs more CPU than the gateway's own work on its hot paths.
        '@opentelemetry/instrumentation-express': { ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.REQUEST_HANDLER, ExpressLayerType.ROUTER] },
        '@opentelemetry/instrumentation-router': { enabled: false },
      }),
    ],
  });
  sdk.start();
}

/** Flushes pending spans and stops the SDK (graceful shutdown). */
export async function shutdownTelemetry(): Promise<void> {
  const current = sdk;
  sdk = undefined;
  await current?.shutdown().catch(() => undefined);
}
