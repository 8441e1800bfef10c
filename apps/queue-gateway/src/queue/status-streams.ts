import type { Response } from 'express';
import type { Admission, AdmissionView } from '../access/access.middleware';
import type { QueueTokenClaims } from '../access/queue-token';

/** What the streams need of the rooms (waiting-room/admissions.ts and each room's view). */
export interface StreamSource {
  peek(claims: QueueTokenClaims): Admission | undefined;
  status(claims: QueueTokenClaims): Promise<Admission>;
  /** Called after every snapshot of that room's view. */
  onSnapshot(concertId: string, listener: () => void): () => void;
}

/** Open event streams one fan may hold in one room; a further one closes the oldest. */
export const MAX_STREAMS_PER_FAN_AND_ROOM = 2;

export interface StatusStreamsOptions {
  source: StreamSource;
  /** The event's data for a place (the same body a status poll gets). */
  present(concertId: string, view: AdmissionView): unknown;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  now?: () => number;
}

interface Stream {
  res: Response;
  concertId: string;
  claims: QueueTokenClaims;
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
export function createStatusStreams({ source, present, heartbeatMs = 15_000, now = Date.now }: StatusStreamsOptions) {
  const streams = new Set<Stream>();
  // Per room: its streams and the subscription to its view's snapshots (made with the room's first stream).
  const byRoom = new Map<string, { streams: Set<Stream>; unsubscribe: () => void }>();
  // Per fan and room, oldest first: at most MAX_STREAMS_PER_FAN_AND_ROOM.
  const byFan = new Map<string, Stream[]>();
  const fanKey = (stream: Stream) => `${stream.concertId}:${stream.claims.userId}`;

  function close(stream: Stream) {
    if (stream.closed) return;
    stream.closed = true;
    streams.delete(stream);
    const room = byRoom.get(stream.concertId);
    room?.streams.delete(stream);
    const key = fanKey(stream);
    const own = byFan.get(key)?.filter((s) => s !== stream) ?? [];
    if (own.length) byFan.set(key, own);
    else byFan.delete(key);
    stream.res.end();
  }

  function send(stream: Stream, place: AdmissionView) {
    if (stream.closed) return;
    const data = JSON.stringify(present(stream.concertId, place));
    if (data !== stream.last) {
      stream.last = data;
      stream.lastWriteAt = now();
      stream.res.write(`event: status\ndata: ${data}\n\n`);
    }
    if (place.status === 'EXPIRED') close(stream);
  }

  function update(stream: Stream) {
    const known = source.peek(stream.claims);
    if (known) return send(stream, known.view);
    if (stream.asking) return;
    stream.asking = true;
    source.status(stream.claims).then(
      (place) => {
        stream.asking = false;
        send(stream, place.view);
      },
      () => {
        // Redis unreachable: try again with the next snapshot.
        stream.asking = false;
      },
    );
  }

  function roomOf(concertId: string) {
    let room = byRoom.get(concertId);
    if (!room) {
      const members = new Set<Stream>();
      room = { streams: members, unsubscribe: source.onSnapshot(concertId, () => members.forEach(update)) };
      byRoom.set(concertId, room);
    }
    return room;
  }
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
    open(res: Response, { concertId, claims, first }: { concertId: string; userId: string; claims: QueueTokenClaims; first: AdmissionView }) {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const stream: Stream = { res, concertId, claims, last: '', lastWriteAt: now(), asking: false, closed: false };
      streams.add(stream);
      roomOf(concertId).streams.add(stream);
      const key = fanKey(stream);
      byFan.set(key, [...(byFan.get(key) ?? []), stream]);
      // A third tab (or a client reopening without closing) ends the fan's oldest stream in this room.
      for (let own = byFan.get(key)!; own.length > MAX_STREAMS_PER_FAN_AND_ROOM; own = byFan.get(key)!) close(own[0]);
      res.on('close', () => close(stream));
      send(stream, first);
    },

    get size() {
      return streams.size;
    },

    /** Ends every stream (shutdown). */
    closeAll() {
      for (const room of byRoom.values()) room.unsubscribe();
      byRoom.clear();
      clearInterval(heartbeat);
      for (const stream of [...streams]) close(stream);
    },
  };
}
