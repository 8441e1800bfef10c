import { context, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Request headers that carry credentials: written to logs as `[redacted]`. */
export const REDACTED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-queue-token', 'x-admin-key', 'x-internal-auth'];

/**
 * JSON logs on stdout (or `destination`); every line written inside a span carries its trace and
 * span id, and credentials in logged requests are redacted.
 */
export function createLogger(service: string, level: LoggerOptions['level'] = 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACTED_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`]), censor: '[redacted]' },
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The active trace id, or undefined outside a sampled span. */
export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const id = span?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : undefined;
}
