import { SALE_LIMITS, type SaleSettings } from '@ticketing/contracts';
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { configureSale } from '../../infra/e2e/fan-client';
import { benchConfig } from './bench-config';
import { cpuReport } from './cpu';
import { createCpuMeter } from './cpu-meter';
import { latencySummary, type ScenarioResult } from './report';

/** The helpers every HTTP scenario uses: autocannon as a promise, batching, a measurement over several runs, and a concert on sale. */

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

/** Calls `fire` `perSecond` times a second, evenly, whatever the answers do (open loop); returns the stop. */
export function paced(perSecond: number, fire: () => void): () => void {
  if (!(perSecond > 0)) return () => undefined;
  const t0 = performance.now();
  let fired = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * perSecond);
    for (; fired < due; fired++) fire();
  }, 10);
  return () => clearInterval(timer);
}

/** Runs `work` over `items`, `width` at a time. */
export async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

/** A sale as the bench configures it: open since a minute ago, BENCH_MAX_ACTIVE slots, a rate that never binds. */
export function benchSale(settings: Partial<SaleSettings> = {}): SaleSettings {
  const opened = new Date(Date.now() - 60_000).toISOString();
  return {
    queueOpensAt: opened,
    saleOpensAt: opened,
    maxActive: benchConfig.BENCH_MAX_ACTIVE,
    admitPerMinute: SALE_LIMITS.admitPerMinute.max,
    activeMinutes: benchConfig.BENCH_ACTIVE_MINUTES,
    mode: 'queue',
    powDifficulty: 0,
    ...settings,
  };
}

/** A concert the bench sells: its id, its dates (in the order asked) and the sale its waiting room runs. */
export interface BenchConcert {
  concertId: string;
  scheduleIds: string[];
  sale: SaleSettings;
}

/**
 * A concert with `dates` dates open for booking now (seats 1..`seatCount` at `price` each), made
 * through the gateway's admin routes, and its sale (`benchSale(sale)`), once the gateway has it (fans
 * can line up for it as soon as this returns).
 */
export async function createSaleConcert(
  api: string,
  { adminKey, dates = 1, seatCount = 1, price = 1_000, title = 'Bench', sale = {} }: { adminKey: string; dates?: number; seatCount?: number; price?: number; title?: string; sale?: Partial<SaleSettings> },
): Promise<BenchConcert> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-admin-key': adminKey }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const concert = await post('/admin/concerts', { title: `${title} ${randomUUID().slice(0, 8)}`, artist: 'Bench', venue: 'Loopback Hall' });
  if (concert.status !== 201) throw new Error(`could not create a concert: ${concert.status} ${JSON.stringify(concert.body)}`);
  const concertId = concert.body.concertId as string;
  const now = Date.now();
  const scheduleIds: string[] = [];
  // One at a time: the dates keep the order asked (a scenario maps fans to dates by index).
  for (let i = 0; i < dates; i++) {
    const schedule = await post(`/admin/concerts/${concertId}/schedules`, {
      startsAt: new Date(now + (30 + i) * 86_400_000).toISOString(),
      bookingOpensAt: new Date(now - 60_000).toISOString(),
      bookingClosesAt: new Date(now + 86_400_000).toISOString(),
      seatCount,
      price,
    });
    if (schedule.status !== 201) throw new Error(`could not create a schedule: ${schedule.status} ${JSON.stringify(schedule.body)}`);
    scheduleIds.push(schedule.body.scheduleId as string);
  }
  const settings = benchSale(sale);
  await configureSale(api, adminKey, concertId, settings);
  return { concertId, scheduleIds, sale: settings };
}

/** A concert with one date open for booking now and its sale (see createSaleConcert); returns the concert and the schedule id. */
export async function createBookableDate(api: string, options: { adminKey: string; seatCount: number; price: number; title?: string; sale?: Partial<SaleSettings> }): Promise<{ concertId: string; scheduleId: string }> {
  const { concertId, scheduleIds } = await createSaleConcert(api, { ...options, dates: 1 });
  return { concertId, scheduleId: scheduleIds[0] };
}
