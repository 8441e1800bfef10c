import { signal, type Signal } from '@preact/signals';
import { createParser } from 'eventsource-parser';
import { api, ApiProblem, ok, toProblem, type QueueStatus } from '../api/client';
import type { paths } from '../api/schema';
import { queueHeaders } from './store';

const EVENTS_PATH = '/api/v1/queue/events' satisfies keyof paths;
/** After this many streams that failed to open in a row, polling alone carries on. */
const STREAM_ATTEMPTS = 3;

export interface LineFollower {
  /** The latest place in line; null until the first answer. */
  status: Signal<QueueStatus | null>;
  /** How updates arrive: pushed by server-sent events, or polled at pollAfterMs. */
  transport: Signal<'stream' | 'polling'>;
  /** Set when the place cannot be followed any more (token gone, signed out). */
  problem: Signal<ApiProblem | null>;
  stop(): void;
}

/**
 * Follows one concert's place in line: `GET /queue/events` read with fetch (EventSource cannot send
 * the Authorization and X-Queue-Token headers the gateway asks for), parsed by eventsource-parser;
 * when the stream cannot be had, `GET /queue/status` every `pollAfterMs`. Stops at EXPIRED.
 */
export function followLine(concertId: string): LineFollower {
  const status = signal<QueueStatus | null>(null);
  const transport = signal<'stream' | 'polling'>('stream');
  const problem = signal<ApiProblem | null>(null);
  const abort = new AbortController();
  let stopped = false;
  let failedStreams = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const update = (next: QueueStatus) => {
    const last = status.peek();
    // The same body again (a reconnect, a poll) changes nothing on screen.
    if (last && JSON.stringify(last) === JSON.stringify(next)) return;
    status.value = next;
    if (next.status === 'EXPIRED') stop();
  };

  const fail = (error: unknown) => {
    if (error instanceof ApiProblem && error.status === 401) {
      problem.value = error;
      stop();
      return true;
    }
    return false;
  };

  const later = (ms: number, fn: () => void) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  const pollDelay = () => Math.max(500, status.peek()?.pollAfterMs ?? 2_000);

  async function poll(): Promise<void> {
    if (stopped) return;
    try {
      update(await ok(api.GET('/api/v1/queue/status', { headers: queueHeaders(concertId), signal: abort.signal })));
    } catch (error) {
      if (stopped || fail(error)) return;
    }
    if (transport.peek() === 'polling') later(pollDelay(), () => void poll());
  }

  async function stream(): Promise<void> {
    if (stopped) return;
    try {
      const res = await fetch(EVENTS_PATH, { headers: { ...queueHeaders(concertId), accept: 'text/event-stream' }, signal: abort.signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw toProblem(res, await res.json().catch(() => ({})));
      failedStreams = 0;
      transport.value = 'stream';
      const parser = createParser({
        onEvent(event) {
          if (event.event === 'status') update(JSON.parse(event.data) as QueueStatus);
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      // The stream ended (EXPIRED, a restart of the gateway): open it again soon.
      later(pollDelay(), () => void stream());
    } catch (error) {
      if (stopped || fail(error)) return;
      failedStreams += 1;
      if (failedStreams >= STREAM_ATTEMPTS) {
        transport.value = 'polling';
        void poll();
      } else {
        // Meanwhile the place is polled once, so the screen never waits on a failing stream.
        void poll();
        later(pollDelay(), () => void stream());
      }
    }
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    abort.abort();
  }

  void stream();
  return { status, transport, problem, stop };
}
