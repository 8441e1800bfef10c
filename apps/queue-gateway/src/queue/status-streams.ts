import type { Response } from 'express';
import type { AdmissionView } from '../access/access.middleware';

/** The part of the room view the streams need (waiting-room/room-view.ts). */
export interface StreamSource {
  peek(userId: string, ticket: number): AdmissionView | undefined;
  status(userId: string, ticket: number): Promise<AdmissionView>;
  onSnapshot(listener: () => void): () => void;
}

export interface StatusStreamsOptions {
  view: StreamSource;
  /** The event's data for a place (the same body a status poll gets). */
  present(view: AdmissionView): unknown;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  now?: () => number;
}

interface Stream {
  res: Response;
  userId: string;
  ticket: number;
  last: string;
  lastWriteAt: number;
  /** A Redis look-up for this stream is in flight. */
  asking: boolean;
  closed: boolean;
}

export type StatusStreams = ReturnType<typeof createStatusStreams>;

/**
 * Every open `GET /queue/events` stream of this process, pushed from the room view's snapshot: one pass
 * over the streams per snapshot (once per admission tick) and one heartbeat pass on one timer, never a
 * timer or a Redis call per stream. A stream is written only when its status body changed.
 */
export function createStatusStreams({ view, present, heartbeatMs = 15_000, now = Date.now }: StatusStreamsOptions) {
  const streams = new Set<Stream>();

  function close(stream: Stream) {
    if (stream.closed) return;
    stream.closed = true;
    streams.delete(stream);
    stream.res.end();
  }

  function send(stream: Stream, place: AdmissionView) {
    if (stream.closed) return;
    const data = JSON.stringify(present(place));
    if (data !== stream.last) {
      stream.last = data;
      stream.lastWriteAt = now();
      stream.res.write(`event: status\ndata: ${data}\n\n`);
    }
    if (place.status === 'EXPIRED') close(stream);
  }

  function update(stream: Stream) {
    const known = view.peek(stream.userId, stream.ticket);
    if (known) return send(stream, known);
    if (stream.asking) return;
    stream.asking = true;
    view.status(stream.userId, stream.ticket).then(
      (place) => {
        stream.asking = false;
        send(stream, place);
      },
      () => {
        // Redis unreachable: try again with the next snapshot.
        stream.asking = false;
      },
    );
  }

  const unsubscribe = view.onSnapshot(() => {
    for (const stream of streams) update(stream);
  });
  const heartbeat = setInterval(() => {
    const due = now() - heartbeatMs;
    for (const stream of streams) {
      if (stream.lastWriteAt <= due) {
        stream.lastWriteAt = now();
        stream.res.write(': keep-alive\n\n');
      }
    }
  }, Math.max(50, Math.floor(heartbeatMs / 3)));
  heartbeat.unref();

  return {
    /** Takes over the response: headers, the first event, then pushes until the ticket ends or the client goes. */
    open(res: Response, { userId, ticket, first }: { userId: string; ticket: number; first: AdmissionView }) {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const stream: Stream = { res, userId, ticket, last: '', lastWriteAt: now(), asking: false, closed: false };
      streams.add(stream);
      res.on('close', () => close(stream));
      send(stream, first);
    },

    get size() {
      return streams.size;
    },

    /** Ends every stream (shutdown). */
    closeAll() {
      unsubscribe();
      clearInterval(heartbeat);
      for (const stream of [...streams]) close(stream);
    },
  };
}
