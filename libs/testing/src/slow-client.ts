import { connect, type Socket } from 'node:net';

export interface SlowClientOptions {
  port: number;
  host?: string;
  /** The client's own address (any 127.x.y.z on Linux): many clients that a per-address cap tells apart. */
  localAddress?: string;
  /** The request line and headers, `\r\n`-separated, ending in an empty line. */
  head: string;
  /** The body, sent after the head. */
  body?: string;
  /** Which part goes out one byte at a time (the rest at once). */
  trickle: 'head' | 'body';
  /** Time between two trickled bytes. */
  everyMs: number;
}

export interface SlowClientEnd {
  /** The HTTP status the server answered with, if it answered. */
  status?: number;
  headers: Record<string, string>;
  /** The answer's body, parsed when it is JSON. */
  body?: unknown;
  /** From the connection to the server closing it. */
  closedAfterMs: number;
  /** Bytes of the request written before the server closed the connection. */
  bytesSent: number;
  /** The connection never got as far as being accepted and answered (reset or closed at once). */
  refused: boolean;
}

export interface SlowClient {
  /** Resolves when the server has closed the connection. */
  ended: Promise<SlowClientEnd>;
  /** Whether the socket is still open. */
  open(): boolean;
  /** Closes it from the client's side. */
  close(): void;
  socket: Socket;
}

/**
 * A raw TCP client that sends an HTTP request a byte at a time (a slow upload, or slow headers), the way
 * an attacker holds a server's sockets; it reads whatever the server answers until the server closes.
 */
export function slowClient({ port, host = '127.0.0.1', localAddress, head, body = '', trickle, everyMs }: SlowClientOptions): SlowClient {
  const socket = connect({ port, host, localAddress });
  const startedAt = Date.now();
  const received: Buffer[] = [];
  let bytesSent = 0;
  let timer: NodeJS.Timeout | undefined;
  let isOpen = true;
  const slowPart = trickle === 'head' ? head + body : body;
  socket.on('connect', () => {
    if (trickle === 'body') {
      socket.write(head);
      bytesSent += Buffer.byteLength(head);
    }
    let i = 0;
    timer = setInterval(() => {
      if (i >= slowPart.length || socket.destroyed) return clearInterval(timer);
      socket.write(slowPart[i++]);
      bytesSent++;
    }, everyMs);
  });
  socket.on('data', (chunk) => received.push(chunk));
  socket.on('error', () => undefined); // a reset ends it as a close does
  const ended = new Promise<SlowClientEnd>((resolve) => {
    socket.on('close', () => {
      isOpen = false;
      clearInterval(timer);
      const text = Buffer.concat(received).toString('utf8');
      const [top, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = (top ?? '').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
      const headers = Object.fromEntries(headerLines.filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const rawBody = rest.join('\r\n\r\n');
      let parsed: unknown = rawBody || undefined;
      try {
        parsed = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        // not JSON: keep the text
      }
      resolve({ status: status ? Number(status) : undefined, headers, body: parsed, closedAfterMs: Date.now() - startedAt, bytesSent, refused: text.length === 0 });
    });
  });
  return {
    ended,
    open: () => isOpen,
    close: () => socket.destroy(),
    socket,
  };
}
