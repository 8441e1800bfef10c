import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A tiny OTLP/HTTP trace receiver of the test's own: the services export to it as they would to
 * Jaeger (`OTEL_EXPORTER_OTLP_ENDPOINT`), and the test reads back who made which span under which parent.
 * It speaks OTLP JSON, which is what @opentelemetry/exporter-trace-otlp-http sends; anything else is
 * refused with 415 and remembered, so a test fails clearly instead of waiting for spans that never come.
 */

/** OTLP span kinds (the numbers of the JSON encoding). */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, unknown>;
  startTimeUnixNano: string;
}

export interface OtlpReceiver {
  /** The base URL to pass as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans(): ReceivedSpan[];
  trace(traceId: string): ReceivedSpan[];
  /** Requests that were not OTLP JSON (content type and reason), for a clear failure. */
  rejected(): string[];
  stop(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpExportRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: OtlpKeyValue[];
        startTimeUnixNano?: string | number;
      }[];
    }[];
  }[];
}

function valueOf(value: OtlpAnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

const attributesOf = (list: OtlpKeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** OTLP JSON carries ids as hex; base64 (the protobuf-JSON mapping some exporters use) is turned into hex too. */
function hexId(id: string | undefined, bytes: number): string {
  if (!id) return '';
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'i').test(id)) return id.toLowerCase();
  const decoded = Buffer.from(id, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : id;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    const contentType = req.headers['content-type'] ?? '';
    readBody(req)
      .then((body) => {
        if (!contentType.startsWith('application/json')) {
          rejected.push(`${contentType || 'no content type'}: only OTLP JSON is understood here`);
          res.writeHead(415).end();
          return;
        }
        const request = JSON.parse(body.toString('utf8')) as OtlpExportRequest;
        for (const resourceSpans of request.resourceSpans ?? []) {
          const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? 'unknown');
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              spans.push({
                traceId: hexId(span.traceId, 16),
                spanId: hexId(span.spanId, 8),
                parentSpanId: hexId(span.parentSpanId, 8),
                name: span.name,
                kind: span.kind ?? 0,
                service,
                attributes: attributesOf(span.attributes),
                startTimeUnixNano: String(span.startTimeUnixNano ?? '0'),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      })
      .catch((error: Error) => {
        rejected.push(`${contentType}: ${error.message}`);
        res.writeHead(400).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    trace: (traceId) => spans.filter((s) => s.traceId === traceId),
    rejected: () => [...rejected],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
