import { loadConfig } from '@ticketing/config';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { benchConfig } from '../lib/bench-config';
import { callApi, enter, leave, lineUp, signIn, type Fan } from '../lib/fans';
import { createMeasurement, createSaleConcert, inBatches, sleep } from '../lib/load';
import { latencySummary, type Check, type Scenario, type ScenarioResult } from '../lib/report';
import { rssBytes, servicePids } from '../lib/stack-memory';
import { openStream, type EventStream } from '../lib/streams';

const { api } = benchConfig;
const config = loadConfig(
  z.object({
    /** Streams to open on the one gateway process (capped by its and this process's open-file limits). */
    BENCH_SSE_STREAMS: z.coerce.number().int().min(1).default(50_000),
    /** Source addresses 127.0.0.2 .. 127.0.0.(1 + n): each gives the client its own ~28,000 ports. */
    BENCH_SSE_SOURCE_ADDRESSES: z.coerce.number().int().min(1).max(200).default(8),
  }),
);

/** The gateway's pid, from the stack's record of the services it started. */
function gatewayPid(): number {
  const pid = servicePids()['queue-gateway'];
  if (!pid) throw new Error('the stack has no running queue-gateway');
  return pid;
}

/** The gateway's live JS heap (prom-client's default metric), a closer measure of what a stream holds than RSS. */
async function heapUsedBytes(): Promise<number> {
  const text = await (await fetch(benchConfig.metricsUrls['queue-gateway'])).text();
  return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1]);
}

/** The soft limit on open files of a process (this machine's hard limit may be below what the issue asks). */
const openFileLimit = (pid: number | 'self') => Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1]);
const openFiles = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/FDSize:\s+(\d+)/)?.[1]);

/** A waiting fan's stream, watched for the line moving after the change. */
interface Watched {
  stream: EventStream;
  /** The settled position before the change. */
  baseline?: number;
  /** When the stream first showed a position below `baseline` (ms since the change). */
  reachedAfterMs?: number;
}

/**
 * Server-sent events at scale: as many open `GET /queue/events` streams on the one gateway process as
 * its open-file limit allows (the issue asks 50,000), each a waiting fan; the gateway's memory per
 * stream; then an admitted fan leaves, the next tick admits the head of the line, and the time until
 * each stream shows its new, lower position (the gateway pushes from that tick's snapshot).
 */
export const scenario: Scenario = {
  name: 'sse-fanout',
  description: 'open event streams on one gateway process: memory per stream, a change of the head reaching every stream',
  async run(): Promise<ScenarioResult[]> {
    const pid = gatewayPid();
    const limit = Math.min(openFileLimit(pid), openFileLimit('self'));
    // Each stream is one socket in the gateway and one here; leave room for both processes' own files.
    const count = Math.min(config.BENCH_SSE_STREAMS, limit - 1_000);
    const notes: string[] = [];
    if (count < config.BENCH_SSE_STREAMS) {
      notes.push(`${count} streams, not ${config.BENCH_SSE_STREAMS}: the open-file limit is ${limit} here (a hard limit this machine does not let a process raise)`);
    }
    const everyone: Fan[] = [];
    const streams: Watched[] = [];
    const load = createMeasurement({ drainMs: 0 });
    try {
      // A concert of its own; every slot of its sale filled first, so each streaming fan waits in line and has a position to watch.
      const { concertId, sale } = await createSaleConcert(api, { adminKey: benchConfig.ADMIN_API_KEY, dates: 0, title: 'Event streams' });
      const holders = await lineUp(sale.maxActive, concertId);
      everyone.push(...holders);
      await sleep(2_500);
      let holder: Fan | undefined;
      for (const fan of holders) {
        if ((await callApi('/queue/status', { fan })).body.status === 'ACTIVE') {
          holder = fan;
          break;
        }
      }
      if (!holder) throw new Error('none of the fans lined up to fill the slots of the sale was admitted within 2.5 s: admission is not running');
      const rssBefore = rssBytes(pid);
      const heapBefore = await heapUsedBytes();
      let changedAt: number | undefined;
      const onEvent = (watched: Watched) => {
        const { stream } = watched;
        if (changedAt === undefined || watched.reachedAfterMs !== undefined || watched.baseline === undefined) return;
        // Moved up, or admitted (the head of the line may be one of them).
        if (stream.status === 'ACTIVE' || (stream.position !== null && stream.position < watched.baseline)) watched.reachedAfterMs = Date.now() - changedAt;
      };
      const openedAt = Date.now();
      // Each fan opens its stream as soon as it has lined up: an open stream keeps its place leased,
      // while a fan lined up first and left waiting for thousands of others would lapse on a slow day.
      await inBatches(
        Array.from({ length: count }, (_, i) => i),
        500,
        async () => {
          const fan = await enter(await signIn(), concertId);
          everyone.push(fan);
          const address = `127.0.0.${2 + (streams.length % config.BENCH_SSE_SOURCE_ADDRESSES)}`;
          const watched = {} as Watched;
          watched.stream = await openStream(fan, { sourceAddress: address, onEvent: () => watched.stream && onEvent(watched) });
          streams.push(watched);
        },
      );
      const openSeconds = (Date.now() - openedAt) / 1000;
      // Two ticks with nothing changing: every stream has its settled position.
      await sleep(2_500);
      const rssOpen = rssBytes(pid);
      const heapOpen = await heapUsedBytes();
      const waiting = streams.filter((s) => s.stream.status === 'WAITING');
      for (const s of waiting) s.baseline = s.stream.position!;
      const gatewayFiles = openFiles(pid);

      // The change: an admitted fan gives up the slot, the next tick admits the head of the line, and
      // every fan behind moves up by one.
      await load.measure(async () => {
        changedAt = Date.now();
        const left = await callApi('/queue/tokens/me', { method: 'DELETE', fan: holder });
        if (left.status !== 204) throw new Error(`the admitted fan could not leave: ${left.status}`);
        const deadline = Date.now() + 10_000;
        while (waiting.some((s) => s.reachedAfterMs === undefined) && Date.now() < deadline) await sleep(50);
      });
      const reached = waiting.filter((s) => s.reachedAfterMs !== undefined).map((s) => s.reachedAfterMs!);
      const latency = latencySummary(reached);
      const within1s = reached.filter((ms) => ms <= 1_000).length;
      const bytesPerStream = (rssOpen - rssBefore) / streams.length;
      const checks: Check[] = [
        { name: 'every stream opened and pushed its status', pass: streams.length === count && streams.every((s) => s.stream.events > 0), detail: `${streams.length}/${count} streams lined up and opened in ${openSeconds.toFixed(1)} s` },
        { name: 'every waiting stream saw the line move', pass: reached.length === waiting.length && waiting.length > 0, detail: `${reached.length}/${waiting.length} waiting streams` },
      ];
      notes.push(
        `gateway RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before the streams, ${(rssOpen / 2 ** 20).toFixed(0)} MiB with ${streams.length} open: ${(bytesPerStream / 1024).toFixed(1)} KiB per stream (JS heap in use: ${((heapOpen - heapBefore) / streams.length / 1024).toFixed(1)} KiB per stream, before garbage collection); file table ${gatewayFiles}`,
        `the change reached ${((100 * within1s) / Math.max(1, reached.length)).toFixed(1)} % of the streams within 1 s (this includes the wait for the next admission tick)`,
      );
      const p99 = latency.p99;
      return [
        {
          scenario: 'sse-fanout',
          target: '50,000 streams on one process, <= 20 KB each, a change reaches 99% within 1 s',
          targetMet: count >= 50_000 && bytesPerStream <= 20_000 && p99 <= 1_000,
          ...load.summary(streams.length),
          durationSeconds: openSeconds,
          throughputPerSecond: streams.length / openSeconds,
          latencyMs: latency,
          errors: streams.length - count,
          checks,
          notes,
        },
      ];
    } finally {
      for (const s of streams) s.stream.request.destroy();
      await leave(everyone);
    }
  },
};
