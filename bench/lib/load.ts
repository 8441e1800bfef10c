import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { cpuReport } from './cpu';
import { createCpuMeter } from './cpu-meter';
import { latencySummary, type ScenarioResult } from './report';

/** The helpers every HTTP scenario uses: autocannon as a promise, batching, a measurement over several runs, and a bookable date. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One row's measurement, made of one or more autocannon runs (waves of fans): requests and time add
 * up, percentiles are over every request of every run, and the CPU of every process of the stack is
 * read before and after each run (extra work inside a run, such as settling, goes in `alsoMeasure`).
 * The CPU window closes `drainMs` after the last answer, so that the work the answers set off (events
 * relayed and consumed, read models) is counted with them; the time and rate are autocannon's alone.
 */
export function createMeasurement({ drainMs = 500 } = {}) {
  const meter = createCpuMeter();
  const latenciesMs: number[] = [];
  const totals = { requests: 0, seconds: 0, errors: 0, non2xx: 0, fiveXx: 0 };
  return {
    async run(opts: autocannon.Options, alsoMeasure?: (result: autocannon.Result) => Promise<void>): Promise<autocannon.Result> {
      return meter.measure(async () => {
        const result = await new Promise<autocannon.Result>((resolve, reject) => {
          const instance = autocannon(opts, (error, r) => (error ? reject(error) : resolve(r)));
          instance.on('response', (_client, _status, _bytes, responseTime: number) => void latenciesMs.push(responseTime));
        });
        totals.requests += result.requests.total;
        totals.seconds += result.duration;
        totals.errors += result.errors + result.timeouts;
        totals.non2xx += result.non2xx;
        totals.fiveXx += result['5xx'];
        await alsoMeasure?.(result);
        await sleep(drainMs);
        return result;
      });
    },
    /** Some other measured work (not autocannon's), counted into the CPU only. */
    measure: <T>(work: () => Promise<T>) => meter.measure(work),
    totals,
    latenciesMs,
    /** The numbers of a row; `operations` defaults to the requests made. */
    summary(operations = totals.requests): Pick<ScenarioResult, 'operations' | 'durationSeconds' | 'throughputPerSecond' | 'latencyMs' | 'cpu'> {
      return {
        operations,
        durationSeconds: Math.round(totals.seconds * 100) / 100,
        throughputPerSecond: totals.seconds > 0 ? operations / totals.seconds : 0,
        latencyMs: latencySummary(latenciesMs),
        cpu: cpuReport(meter.used, operations),
      };
    },
    close: () => meter.close(),
  };
}
export type Measurement = ReturnType<typeof createMeasurement>;

/** Runs `work` over `items`, `width` at a time. */
export async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

/** A concert with one date open for booking now (seats 1..`seatCount` at `price`), made through the gateway's admin routes; returns the schedule id. */
export async function createBookableDate(api: string, { adminKey, seatCount, price, title = 'Bench' }: { adminKey: string; seatCount: number; price: number; title?: string }): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-admin-key': adminKey }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const concert = await post('/admin/concerts', { title: `${title} ${randomUUID().slice(0, 8)}`, artist: 'Bench', venue: 'Loopback Hall' });
  const now = Date.now();
  const schedule = await post(`/admin/concerts/${concert.body.concertId}/schedules`, {
    startsAt: new Date(now + 30 * 86_400_000).toISOString(),
    bookingOpensAt: new Date(now - 60_000).toISOString(),
    bookingClosesAt: new Date(now + 86_400_000).toISOString(),
    seatCount,
    price,
  });
  if (schedule.status !== 201) throw new Error(`could not create a schedule: ${schedule.status} ${JSON.stringify(schedule.body)}`);
  return schedule.body.scheduleId as string;
}
