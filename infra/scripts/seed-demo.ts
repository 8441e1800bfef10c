/**
 * Demo data for a fresh stack: a few concerts with several dates each, booking open now, 50 seats
 * in price sections, and a sale per concert whose waiting room opens now (no pre-queue), created
 * through the gateway's admin API (so each date and sale is published like any other). Does nothing
 * when concerts already exist.
 *
 * `npm start` calls `seedDemo()` once the services are ready; on its own:
 *   node --import tsx infra/scripts/seed-demo.ts
 * Settings: GATEWAY_PORT (3000), ADMIN_API_KEY (dev-admin-key), or GATEWAY_URL for a gateway elsewhere.
 */

export interface SeedDemoOptions {
  /** The gateway's base URL, without /api/v1. */
  gatewayUrl?: string;
  adminKey?: string;
  log?: (line: string) => void;
  now?: Date;
}

export interface SeedDemoResult {
  seeded: boolean;
  concerts: number;
  schedules: number;
}

const HOUR = 3_600_000;

/** Every demo concert's sale: open from the moment of seeding, queue mode, the waiting room's old defaults (500 admitted, 5 minutes each). */
export const DEMO_SALE = { maxActive: 500, admitPerMinute: 1_000, activeMinutes: 5, mode: 'queue' } as const;
const DAY = 24 * HOUR;

/** Seats 1..50: front rows cost most. */
const SECTIONS = [
  { fromSeat: 1, toSeat: 10, price: 165_000 },
  { fromSeat: 11, toSeat: 30, price: 132_000 },
  { fromSeat: 31, toSeat: 50, price: 99_000 },
];

const DEMO_CONCERTS = [
  {
    concert: { title: 'Midnight Echoes World Tour', artist: 'The Lanterns', venue: 'Olympic Hall, Seoul', description: 'Three nights of the new album, live.' },
    daysAhead: [7, 8, 9],
    sections: SECTIONS,
  },
  {
    concert: { title: 'Strings Under the Stars', artist: 'Seoul Chamber Ensemble', venue: 'Lotte Concert Hall', description: 'Vivaldi, Piazzolla and a premiere.' },
    daysAhead: [10, 17],
    sections: [
      { fromSeat: 1, toSeat: 25, price: 120_000 },
      { fromSeat: 26, toSeat: 50, price: 80_000 },
    ],
  },
  {
    concert: { title: 'Neon Summer Festival Night', artist: 'DJ Haneul & friends', venue: 'KSPO Dome', description: 'All night, all ages.' },
    daysAhead: [14, 21, 28],
    sections: SECTIONS,
  },
  {
    concert: { title: 'Acoustic Sessions', artist: 'Yuna Park', venue: 'Blue Square Hall' },
    daysAhead: [5, 12],
    price: 77_000,
  },
] satisfies { concert: Record<string, string>; daysAhead: number[]; sections?: typeof SECTIONS; price?: number }[];

/** Seeds the demo concerts through the gateway unless there are concerts already. */
export async function seedDemo(options: SeedDemoOptions = {}): Promise<SeedDemoResult> {
  const gatewayUrl = (options.gatewayUrl ?? defaultGatewayUrl()).replace(/\/$/, '');
  const adminKey = options.adminKey ?? process.env.ADMIN_API_KEY ?? 'dev-admin-key';
  const log = options.log ?? ((line: string) => console.log(line));
  const now = (options.now ?? new Date()).getTime();
  const api = `${gatewayUrl}/api/v1`;

  const existing = await request<{ concerts: unknown[] }>('GET', `${api}/concerts`);
  if (existing.concerts.length > 0) {
    log(`demo data: ${existing.concerts.length} concerts exist already; not seeding`);
    return { seeded: false, concerts: 0, schedules: 0 };
  }

  let schedules = 0;
  for (const demo of DEMO_CONCERTS) {
    const { concertId } = await request<{ concertId: string }>('POST', `${api}/admin/concerts`, demo.concert);
    const opensAt = new Date(now).toISOString();
    await request('PUT', `${api}/admin/concerts/${concertId}/sale`, { queueOpensAt: opensAt, saleOpensAt: opensAt, ...DEMO_SALE });
    for (const days of demo.daysAhead) {
      // 19:00 UTC on the day; booking opened a minute ago and closes an hour before the show.
      const startsAt = new Date(Math.floor((now + days * DAY) / DAY) * DAY + 19 * HOUR);
      await request('POST', `${api}/admin/concerts/${concertId}/schedules`, {
        startsAt: startsAt.toISOString(),
        bookingOpensAt: new Date(now - 60_000).toISOString(),
        bookingClosesAt: new Date(startsAt.getTime() - HOUR).toISOString(),
        seatCount: 50,
        ...('sections' in demo ? { priceSections: demo.sections } : { price: demo.price }),
      });
      schedules += 1;
    }
  }
  log(`demo data: ${DEMO_CONCERTS.length} concerts with ${schedules} dates, sales and booking open now`);
  return { seeded: true, concerts: DEMO_CONCERTS.length, schedules };

  async function request<T = unknown>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'x-admin-key': adminKey };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response | undefined;
    // A kept-alive socket can be closed under a call on a loaded machine ("other side closed", seen in
    // CI runs while seeding a just-started system): the call is made again on a new one, twice at most.
    // Demo data only: a repeated POST costs at worst a second demo date.
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        // fetch's own message is only "fetch failed": the reason (refused, reset, timed out) is its cause.
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const transient = cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET';
        if (transient && attempt < 3) {
          await new Promise((r) => setTimeout(r, 250 * attempt));
          continue;
        }
        const why = [(error as Error).message, cause?.code, cause?.message].filter(Boolean).join(': ');
        throw new Error(`demo data: cannot reach the gateway at ${gatewayUrl} for ${method} ${url} (${why}); is the stack running?`);
      }
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`demo data: ${method} ${url} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }
}

function defaultGatewayUrl(): string {
  return process.env.GATEWAY_URL ?? `http://127.0.0.1:${process.env.GATEWAY_PORT ?? 3000}`;
}

if (require.main === module) {
  seedDemo().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
