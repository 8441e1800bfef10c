import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';

/** The helpers every HTTP scenario uses: autocannon as a promise, batching, and a bookable date. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One autocannon run to its end. */
export function runAutocannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

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
