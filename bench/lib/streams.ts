import { createParser } from 'eventsource-parser';
import http from 'node:http';
import { benchConfig } from './bench-config';
import type { Fan } from './fans';

/** One fan's open `GET /queue/events` stream: the last status the gateway pushed. */
export interface EventStream {
  request: http.ClientRequest;
  /** The last status body pushed (the same body a status poll gets); null before the first event. */
  body: Record<string, unknown> | null;
  status: string | null;
  /** The last position pushed; null while ACTIVE or before the first event. */
  position: number | null;
  events: number;
}

export interface StreamOptions {
  /** The local address to connect from (127.0.0.x: each gives the client its own ~28,000 ports). */
  sourceAddress?: string;
  /** More request headers (e.g. X-Forwarded-For: the fan's own address behind a proxy). */
  headers?: Record<string, string>;
  /** Called after every event, with the stream updated. */
  onEvent?: (stream: EventStream) => void;
  /** Called when the gateway ends the stream or the connection fails after it opened. */
  onClose?: (stream: EventStream) => void;
}

/** The answer of a stream the gateway refused (its status), so a caller can count 429s and the like. */
export class StreamRefused extends Error {
  constructor(readonly status: number) {
    super(`GET /queue/events answered ${status}`);
  }
}

/**
 * Opens the fan's event stream (one socket of its own, no agent), parsed with eventsource-parser;
 * resolves at the first event, rejects when the gateway refuses it (StreamRefused) or the connection fails.
 */
export function openStream(fan: Fan, { sourceAddress, headers = {}, onEvent, onClose }: StreamOptions = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${benchConfig.api}/queue/events`);
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      localAddress: sourceAddress,
      agent: false,
      headers: { authorization: `Bearer ${fan.session}`, 'x-queue-token': fan.queueToken, accept: 'text/event-stream', ...headers },
    });
    const stream: EventStream = { request, body: null, status: null, position: null, events: 0 };
    const parser = createParser({
      onEvent: (event) => {
        const body = JSON.parse(event.data) as Record<string, unknown>;
        stream.body = body;
        stream.status = body.status as string;
        stream.position = (body.position as number | null) ?? null;
        stream.events++;
        onEvent?.(stream);
        resolve(stream);
      },
    });
    request.once('error', (error) => {
      if (stream.events > 0) onClose?.(stream);
      else reject(error);
    });
    request.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new StreamRefused(res.statusCode ?? 0));
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.once('error', () => undefined);
      res.once('close', () => onClose?.(stream));
    });
    request.end();
  });
}
