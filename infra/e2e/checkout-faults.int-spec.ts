import type { ServiceName } from '@ticketing/config';
import { allTopics } from '@ticketing/contracts';
import { testKafka, waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { call, configureSale, expectStatus, lineUp, signUpAndLogIn, waitUntilActive, type Answer, type Fan } from './fan-client';
import { checkCheckoutInvariants, type CheckoutInvariantReport } from './invariants';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Issue 5 item 4: the checkout saga under crashes, with all five services as real processes.
 *
 * First, on a healthy system: a POST repeated with one Idempotency-Key makes one payment; two keys
 * for one hold make one payment and a 409; 100 concurrent charges add up exactly.
 *
 * Then one dense fault run: waves of fans charge, hold a seat each and pay, concurrently, while the
 * test SIGKILLs and restarts payment, wallet and reservation at chosen saga steps, picked by watching
 * the payment database, and twice more at random moments (a service may die while it is starting):
 *   1. payment, wallet and reservation die while payments are STARTED (debit outstanding) and
 *      DEBITED (confirmation outstanding); holds last HOLD_TTL_SECONDS, and reservation stays down
 *      until the stranded holds have run out, so those payments must be refunded;
 *   2. payment dies while payments are COMPENSATING (refunds waiting for the wallet), then the
 *      wallet comes back and dies at once, refunds still outstanding;
 *   meanwhile a second wave arrives on the restarting system (holds are long from now on), and when
 *   every payment is terminal a last wave pays on the recovered system.
 * Afterwards the money and seat invariants must hold exactly (`checkCheckoutInvariants`), and what
 * each fan was told must agree with the databases. A last test proves the check finds each kind of
 * break it looks for.
 *
 * The fans behave as a careful client does: 503/504 or no answer from a killed service means "try
 * again with the same Idempotency-Key"; 202 means "poll the payment".
 */

jest.setTimeout(120_000);

const PRICE = 50_000;
const HOLD_TTL_SECONDS = 5;
const SEAT_COUNT = 50;

type Status = 'STARTED' | 'DEBITED' | 'COMPENSATING' | 'COMPLETED' | 'FAILED';
type StatusCounts = Partial<Record<Status, number>>;

interface PaymentView {
  paymentId: string;
  reservationId: string;
  status: Status;
  amount: number;
  failureReason: string | null;
  refunded: boolean;
}
interface Problem {
  code?: string;
  paymentId?: string;
  payment?: PaymentView;
}

const sessionOnly = (fan: Fan): Fan => ({ ...fan, queueToken: undefined });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What a killed or restarting service looks like through the gateway (or the gateway's answer not arriving). */
const unavailable = (status: number) => status === 503 || status === 504 || status === 0;

/** One call that never throws: a network failure or timeout is status 0. */
async function attempt<T>(url: string, options: Parameters<typeof call>[1]): Promise<Answer<T>> {
  try {
    return await call<T>(url, options);
  } catch (error) {
    return { status: 0, contentType: '', body: {} as T, text: (error as Error).message };
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

describe('checkout under faults (all services as processes, SIGKILL and restart)', () => {
  let system: RunningSystem | undefined;
  let api: string;
  let scheduleId: string;
  let concertId: string;
  let nextSeat = 1;
  const testStarted = Date.now();
  /** Every 201 answer to a charge, per user: the ledger must hold exactly these. */
  const chargesAnswered = new Map<string, number[]>();

  const takeSeat = () => {
    if (nextSeat > SEAT_COUNT) throw new Error('out of seats: the test uses more fans than the date has seats');
    return nextSeat++;
  };

  beforeAll(async () => {
    system = await startSystem({
      label: 'e2e_faults',
      env: {
        reservation: { HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS) },
        payment: {
          PAYMENT_SYNC_WAIT_MS: '1500',
          HOLD_LOOKUP_WAIT_MS: '1000',
          SAGA_STEP_TIMEOUT_MS: '700',
          SAGA_RETRY_MAX_MS: '3000',
          SAGA_RETRY_SCAN_INTERVAL_MS: '200',
        },
      },
    });
    api = system.api;
    const admin = { 'x-admin-key': system.adminKey };
    const concert = expectStatus(
      await call<{ concertId: string }>(`${api}/admin/concerts`, { method: 'POST', headers: admin, body: { title: 'Fault Night', artist: 'The Killers', venue: 'Chaos Hall' } }),
      201,
      'create concert',
    );
    concertId = concert.body.concertId;
    // Admitted fans keep their slot through the whole fault drill.
    await configureSale(api, system.adminKey, concertId, { activeMinutes: 30 });
    const now = Date.now();
    const schedule = expectStatus(
      await call<{ scheduleId: string }>(`${api}/admin/concerts/${concert.body.concertId}/schedules`, {
        method: 'POST',
        headers: admin,
        body: {
          startsAt: new Date(now + 7 * 86_400_000).toISOString(),
          bookingOpensAt: new Date(now - 60_000).toISOString(),
          bookingClosesAt: new Date(now + 6 * 86_400_000).toISOString(),
          seatCount: SEAT_COUNT,
          price: PRICE,
        },
      }),
      201,
      'create schedule',
    );
    scheduleId = schedule.body.scheduleId;
    // The reservation service builds its seats from schedule.published.
    await waitFor(async () => Number((await system!.dbs.reservation('seats').where({ schedule_id: scheduleId }).count<{ count: number }[]>('* as count'))[0]!.count) === SEAT_COUNT, {
      timeoutMs: 30_000,
      intervalMs: 100,
      label: 'the reservation service to know the new date',
    });
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
  });

  // ---- a fan, as a careful client --------------------------------------------------------------

  async function admittedFan(name: string): Promise<Fan> {
    const fan = await signUpAndLogIn(api, name);
    await lineUp(api, fan, concertId);
    await waitUntilActive(api, fan, 60_000);
    return fan;
  }

  /** Charges with one key until the wallet answers 201 (503/504 = try again with the same key). */
  async function charge(fan: Fan, amount: number, deadline: number): Promise<number> {
    const key = randomUUID();
    for (;;) {
      const answer = await attempt<{ balance: number; amount: number }>(`${api}/wallet/charges`, { method: 'POST', fan: sessionOnly(fan), headers: { 'idempotency-key': key }, body: { amount } });
      if (answer.status === 201) {
        if (answer.body.amount !== amount) throw new Error(`charge of ${amount} answered ${answer.text}`);
        chargesAnswered.set(fan.userId, [...(chargesAnswered.get(fan.userId) ?? []), amount]);
        return answer.body.balance;
      }
      if (!(unavailable(answer.status) || (answer.status === 409 && (answer.body as Problem).code === 'IDEMPOTENCY_KEY_IN_FLIGHT'))) {
        throw new Error(`charge for ${fan.email}: ${answer.status} ${answer.text}`);
      }
      if (Date.now() > deadline) throw new Error(`charge for ${fan.email} never answered; last ${answer.status} ${answer.text}`);
      await pause(250);
    }
  }

  /** My HELD reservation of a seat, if a hold whose answer was lost went through. */
  async function myHold(fan: Fan, seatNo: number): Promise<string | undefined> {
    const mine = await attempt<{ reservations: { reservationId: string; scheduleId: string; seatNo: number; status: string }[] }>(`${api}/reservations`, { fan: sessionOnly(fan) });
    if (mine.status !== 200) return undefined;
    return mine.body.reservations.find((r) => r.scheduleId === scheduleId && r.seatNo === seatNo && r.status === 'HELD')?.reservationId;
  }

  /** Holds the seat; a lost answer is resolved by looking at my reservations. Undefined when the seat could not be held. */
  async function hold(fan: Fan, seatNo: number, deadline: number): Promise<string | undefined> {
    for (;;) {
      const answer = await attempt<{ reservationId: string } & Problem>(`${api}/reservations`, { method: 'POST', fan, body: { scheduleId, seatNo } });
      if (answer.status === 201) return answer.body.reservationId;
      if (unavailable(answer.status) || answer.status === 409) {
        const found = await myHold(fan, seatNo);
        if (found) return found;
        // 409 without a hold of mine: the seat is someone else's (it never is here) or my lost hold already expired.
        if (answer.status === 409 && answer.body.code !== 'SEAT_UNAVAILABLE') throw new Error(`hold for ${fan.email}: ${answer.status} ${answer.text}`);
      } else if (answer.status === 401 && answer.body.code === 'QUEUE_TOKEN_EXPIRED') {
        await lineUp(api, fan, concertId);
        await waitUntilActive(api, fan, 60_000);
      } else {
        throw new Error(`hold for ${fan.email}: ${answer.status} ${answer.text}`);
      }
      if (Date.now() > deadline) return undefined;
      await pause(250);
    }
  }

  interface PayOutcome {
    key: string;
    /** The final HTTP answer that settled it (201, 402, 409), or 200 of the poll that saw it final. */
    status: number;
    code?: string;
    payment?: PaymentView;
    posts: number;
    /** How many of them were answered 409 IDEMPOTENCY_KEY_IN_FLIGHT (a claim held by a request that died with its process). */
    inFlight: number;
    /** The answers on the way, repeats folded: `503×20@1.4s 409 IDEMPOTENCY_KEY_IN_FLIGHT@10.9s 202@22.9s poll 200@23.2s`. */
    trail: string;
    /** When the outcome was known, in ms since the test began. */
    settledAt: number;
  }

  /**
   * Pays for the hold with one Idempotency-Key until the outcome is known: 202 → poll the payment;
   * 503/504, no answer, 409 key in flight, 404 (the payment service has not learnt of the hold yet)
   * → POST again with the same key; 401 QUEUE_TOKEN_EXPIRED (a payment under this key completed and
   * ended the slot) → line up again and ask again, which answers from the payment.
   */
  async function pay(fan: Fan, reservationId: string, deadline: number, key = randomUUID()): Promise<PayOutcome> {
    let posts = 0;
    let inFlight = 0;
    const began = Date.now();
    const steps: { what: string; n: number; at: number }[] = [];
    const log = (what: string) => {
      const last = steps[steps.length - 1];
      if (last?.what === what) last.n += 1;
      else steps.push({ what, n: 1, at: Date.now() - began });
    };
    const trailOf = () => steps.map((st) => `${st.what}${st.n > 1 ? `×${st.n}` : ''}@${(st.at / 1000).toFixed(1)}s`).join(' ');
    let paymentId: string | undefined;
    for (;;) {
      if (paymentId) {
        const polled = await attempt<PaymentView>(`${api}/payments/${paymentId}`, { fan: sessionOnly(fan) });
        log(`poll ${polled.status}`);
        if (polled.status === 200 && (polled.body.status === 'COMPLETED' || polled.body.status === 'FAILED')) return { key, status: 200, payment: polled.body, posts, inFlight, trail: trailOf(), settledAt: Date.now() - testStarted };
        if (polled.status !== 200 && !unavailable(polled.status)) throw new Error(`poll payment ${paymentId}: ${polled.status} ${polled.text}`);
      } else {
        posts += 1;
        const answer = await attempt<PaymentView & Problem>(`${api}/payments`, { method: 'POST', fan, headers: { 'idempotency-key': key }, body: { reservationId } });
        const code = answer.body.code;
        log(`${answer.status}${code ? ` ${code}` : ''}`);
        if (answer.status === 409 && code === 'IDEMPOTENCY_KEY_IN_FLIGHT') inFlight += 1;
        if (answer.status === 201) return { key, status: 201, payment: answer.body, posts, inFlight, trail: trailOf(), settledAt: Date.now() - testStarted };
        if (answer.status === 402 || (answer.status === 409 && (code === 'HOLD_EXPIRED' || code === 'SEAT_UNAVAILABLE' || code === 'DUPLICATE_PAYMENT'))) {
          return { key, status: answer.status, code, payment: answer.body.payment, posts, inFlight, trail: trailOf(), settledAt: Date.now() - testStarted };
        }
        if (answer.status === 202) paymentId = answer.body.paymentId;
        else if (answer.status === 401 && code === 'QUEUE_TOKEN_EXPIRED') {
          await lineUp(api, fan, concertId);
          await waitUntilActive(api, fan, 60_000);
          continue;
        } else if (!(unavailable(answer.status) || answer.status === 404 || (answer.status === 409 && code === 'IDEMPOTENCY_KEY_IN_FLIGHT'))) {
          throw new Error(`pay for ${fan.email}: ${answer.status} ${answer.text}`);
        }
      }
      if (Date.now() > deadline) throw new Error(`payment of ${fan.email} (key ${key}, payment ${paymentId ?? 'unknown'}) not settled in time`);
      await pause(300);
    }
  }

  // ---- healthy system: idempotency and exact sums --------------------------------------------

  it('makes one payment for a POST repeated with the same Idempotency-Key', async () => {
    const fan = await admittedFan('Repeat');
    await charge(fan, PRICE * 2, Date.now() + 30_000);
    const reservationId = (await hold(fan, takeSeat(), Date.now() + 30_000))!;
    expect(reservationId).toEqual(expect.any(String));

    const key = randomUUID();
    const post = () => call<PaymentView & Problem>(`${api}/payments`, { method: 'POST', fan, headers: { 'idempotency-key': key }, body: { reservationId } });
    // Concurrent copies: each is the outcome, "still being processed" (409), or — once the payment has
    // completed and ended the buyer's slot — 401 QUEUE_TOKEN_EXPIRED; never a second payment.
    const burst = await Promise.all(Array.from({ length: 5 }, post));
    for (const answer of burst) {
      if (answer.status === 409) expect(answer.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
      else if (answer.status === 401) expect(answer.body.code).toBe('QUEUE_TOKEN_EXPIRED');
      else expect([201, 202]).toContain(answer.status);
    }
    const settled = await pay(fan, reservationId, Date.now() + 60_000, key);
    expect(settled.payment).toMatchObject({ status: 'COMPLETED', reservationId, amount: PRICE });
    // Asked again later (the slot has ended since, so the client lines up again): the same payment.
    const again = await pay(fan, reservationId, Date.now() + 60_000, key);
    expect(again.payment?.paymentId).toBe(settled.payment?.paymentId);
    for (const answer of burst.filter((a) => a.status === 201 || a.status === 202)) expect(answer.body.paymentId).toBe(settled.payment?.paymentId);

    const payments = await system!.dbs.payment('payments').where({ user_id: fan.userId });
    expect(payments).toHaveLength(1);
    const debits = await system!.dbs.wallet('ledger').where({ user_id: fan.userId, kind: 'DEBIT' });
    expect(debits).toEqual([expect.objectContaining({ amount: PRICE, payment_id: settled.payment!.paymentId })]);
    const wallet = expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan: sessionOnly(fan) }), 200, 'wallet');
    expect(wallet.body.balance).toBe(PRICE);
  });

  it('lets one of two keys for the same hold pay and answers the other 409', async () => {
    const fan = await admittedFan('TwoKeys');
    await charge(fan, PRICE * 3, Date.now() + 30_000);
    const reservationId = (await hold(fan, takeSeat(), Date.now() + 30_000))!;

    const [first, second] = await Promise.all([pay(fan, reservationId, Date.now() + 60_000), pay(fan, reservationId, Date.now() + 60_000)]);
    const outcomes = [first, second].map((o) => o.payment?.status === 'COMPLETED' ? 'paid' : `${o.status} ${o.code}`).sort();
    expect(outcomes).toEqual(['409 DUPLICATE_PAYMENT', 'paid']);
    // A third key after the sale: still 409, still one payment.
    const third = await pay(fan, reservationId, Date.now() + 60_000);
    expect(third.status).toBe(409);

    const payments = await system!.dbs.payment('payments').where({ user_id: fan.userId });
    expect(payments).toEqual([expect.objectContaining({ reservation_id: reservationId, status: 'COMPLETED' })]);
    const wallet = expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan: sessionOnly(fan) }), 200, 'wallet');
    expect(wallet.body.balance).toBe(PRICE * 2);
  });

  it('adds up 100 concurrent charges for one user through the gateway exactly, and each key once', async () => {
    const fan = await signUpAndLogIn(api, 'Hundred');
    const amounts = Array.from({ length: 100 }, (_, i) => 1_000 + i);
    const keys = amounts.map(() => randomUUID());
    const send = () =>
      Promise.all(amounts.map((amount, i) => call<{ amount: number; balance: number }>(`${api}/wallet/charges`, { method: 'POST', fan, headers: { 'idempotency-key': keys[i]! }, body: { amount } })));
    const answers = await send();
    expect(answers.map((a) => a.status)).toEqual(amounts.map(() => 201));
    chargesAnswered.set(fan.userId, amounts);
    const total = amounts.reduce((a, b) => a + b, 0);
    // Each answer's balance is the balance right after that charge: all different, the largest is the total.
    const balances = answers.map((a) => a.body.balance).sort((a, b) => a - b);
    expect(new Set(balances).size).toBe(100);
    expect(balances[99]).toBe(total);

    // The same 100 requests again: the same answers, no money added.
    const replays = await send();
    expect(replays.map((a) => [a.status, a.body.balance])).toEqual(answers.map((a) => [a.status, a.body.balance]));
    const wallet = expectStatus(await call<{ balance: number }>(`${api}/wallet`, { fan }), 200, 'wallet');
    expect(wallet.body.balance).toBe(total);
    const [{ n, sum }] = await system!.dbs.wallet('ledger').where({ user_id: fan.userId, kind: 'CHARGE' }).select(system!.dbs.wallet.raw('count(*)::int as n'), system!.dbs.wallet.raw('sum(amount)::bigint as sum'));
    expect({ n, sum: Number(sum) }).toEqual({ n: 100, sum: total });
  });

  // ---- the fault run --------------------------------------------------------------------------

  // Generous: a healthy run takes 1–2 minutes; a stuck one must still end with its summary printed.
  it('keeps money and seats exact while payment, wallet and reservation are killed at each saga step', async () => {
    const sys = system!;
    const chaosServices: ServiceName[] = ['payment', 'wallet', 'reservation'];

    interface Plan {
      wave: string;
      fan: Fan;
      seatNo: number;
      /** Charged less than the price: must end INSUFFICIENT_BALANCE (or never get to pay). */
      poor: boolean;
      charges: number[];
    }
    /** Wave A meets the first kills; B arrives while all three restart; D pays on the recovered system. */
    const waves: Record<string, number> = { A: 18, B: 10, D: 10 };
    const plansOf = async (wave: string): Promise<Plan[]> => {
      const fans = await mapLimit(Array.from({ length: waves[wave]! }, (_, i) => i), 4, (i) => admittedFan(`Fan${wave}${i}`));
      return fans.map((fan, i) => {
        const poor = i % 6 === 5;
        const charges = poor ? [PRICE - 1_000] : i % 2 === 0 ? [PRICE + 1_000 * i] : [20_000, PRICE - 20_000 + 1_000 * i];
        return { wave, fan, seatNo: takeSeat(), poor, charges };
      });
    };
    const plansA = await plansOf('A');
    // The others sign up and are admitted while the first kills play out.
    const laterPlans = Promise.all([plansOf('B'), plansOf('D')]);
    laterPlans.catch(() => undefined);

    interface FanResult {
      plan: Plan;
      reservationId?: string;
      outcome?: PayOutcome;
      /** Why the fan could not finish (kept, so the run's summary is still printed). */
      error?: string;
    }
    /**
     * Charge, hold, pay. With `together`, the fans of a wave pay at the same moment (once all have
     * their holds), so that many payments are in flight when the first kill comes.
     */
    const launch = async (plans: Plan[], { together = false } = {}): Promise<FanResult[]> => {
      const deadline = Date.now() + 150_000;
      const prepare = async (plan: Plan): Promise<FanResult> => {
        try {
          for (const amount of plan.charges) await charge(plan.fan, amount, deadline);
          return { plan, reservationId: await hold(plan.fan, plan.seatNo, deadline) };
        } catch (error) {
          return { plan, error: (error as Error).message };
        }
      };
      const finish = async (prepared: FanResult): Promise<FanResult> => {
        if (!prepared.reservationId || prepared.error) return prepared;
        try {
          return { ...prepared, outcome: await pay(prepared.plan.fan, prepared.reservationId, deadline) };
        } catch (error) {
          return { ...prepared, error: (error as Error).message };
        }
      };
      if (together) return Promise.all((await Promise.all(plans.map(prepare))).map(finish));
      return Promise.all(plans.map(async (plan) => finish(await prepare(plan))));
    };

    // ---- the conductor: kills chosen by what the payment database shows --------------------------
    interface Kill {
      service: ServiceName;
      step: string;
      /** Payments per status (changed since the window began) when the kill was decided. */
      seen: StatusCounts;
      matched: boolean;
      atMs: number;
    }
    const kills: Kill[] = [];
    const started = Date.now();
    const timeline: string[] = [];
    const note = (line: string) => {
      timeline.push(`+${((Date.now() - started) / 1000).toFixed(1)}s ${line}`);
      process.stderr.write(`${timeline[timeline.length - 1]}\n`);
    };
    const lanes = new Map<ServiceName, Promise<unknown>>();
    /** One kill or restart at a time per service (a restart in progress is never killed under the harness). */
    const serial = (service: ServiceName, fn: () => Promise<unknown>) => {
      const run = (lanes.get(service) ?? Promise.resolve()).then(fn);
      lanes.set(service, run.catch(() => undefined));
      return run;
    };
    const restarts: Promise<unknown>[] = [];
    const starting = new Set<ServiceName>();
    /** Services a random kill struck while they were starting: their restart is simply done again. */
    const crashedWhileStarting = new Set<ServiceName>();
    /** Restarts the service (after `before`, e.g. "until these holds have run out"; with `env` added from now on). */
    const restartLater = (service: ServiceName, { before, env }: { before?: () => Promise<void>; env?: Record<string, string> } = {}): Promise<unknown> => {
      const restart = serial(service, async () => {
        await before?.();
        for (;;) {
          try {
            starting.add(service);
            await sys.restart(service, { env });
            starting.delete(service);
            note(`${service} ready again`);
            return;
          } catch (error) {
            starting.delete(service);
            if (!crashedWhileStarting.delete(service)) throw error;
            note(`${service} restarting again after dying during its start`);
          }
        }
      });
      restart.catch(() => undefined); // awaited (and failing the test) below, with the others
      restarts.push(restart);
      return restart;
    };

    const dbNow = async (): Promise<Date> => (await sys.dbs.payment.raw('select now() as now')).rows[0].now as Date;
    /** Payments per status, of those whose saga moved since `since`. */
    const statusCounts = async (since: Date): Promise<StatusCounts> => {
      const rows: { status: Status; n: number }[] = await sys.dbs.payment('payments').where('step_started_at', '>=', since).groupBy('status').select('status', sys.dbs.payment.raw('count(*)::int as n'));
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    };
    interface Sighting {
      seen: StatusCounts;
      matched: boolean;
    }
    /** Polls the payments until the first of `conditions` comes true within its time (else `matched: false`). */
    async function watch(since: Date, conditions: { when: (c: StatusCounts) => boolean; withinMs: number }[]): Promise<Sighting> {
      for (const { when, withinMs } of conditions) {
        try {
          const seen = await waitFor(async () => {
            const c = await statusCounts(since);
            return when(c) ? c : undefined;
          }, { timeoutMs: withinMs, intervalMs: 20, label: 'payments in the wanted states' });
          return { seen, matched: true };
        } catch {
          // try the next, looser condition
        }
      }
      return { seen: await statusCounts(since), matched: false };
    }
    /** SIGKILLs the services at once; returns the database's clock right after. */
    async function killNow(services: ServiceName[], step: string, { seen, matched }: Sighting): Promise<Date> {
      await Promise.all(services.map((service) => serial(service, () => sys.kill(service))));
      note(`killed ${services.join(' and ')} at ${step}${matched ? '' : ' (fallback)'}: payments ${JSON.stringify(seen)}`);
      for (const service of services) kills.push({ service, step, seen, matched, atMs: Date.now() - started });
      return dbNow();
    }
    const holdsRunOut = (reservationIds: string[]) => async () => {
      await waitFor(async () => Number((await sys.dbs.reservation('reservations').whereIn('id', reservationIds).where('hold_expires_at', '>', sys.dbs.reservation.fn.now()).count<{ count: number }[]>('* as count'))[0]!.count) === 0, {
        timeoutMs: 60_000,
        intervalMs: 100,
        label: 'the stranded holds to run out',
      });
      note(`the holds of ${reservationIds.length} stranded payments have run out`);
    };

    /**
     * A kill at a random moment of a random running service, besides the chosen ones: a running
     * service is killed and restarted; one that is still starting dies during its start and is
     * started again. (One kept down on purpose is left alone.)
     */
    async function killAtRandom(): Promise<void> {
      await pause(1_000 + Math.random() * 18_000);
      const service = await waitFor(
        () => {
          const candidates = chaosServices.filter((s) => sys.isRunning(s));
          return candidates[Math.floor(Math.random() * candidates.length)];
        },
        { timeoutMs: 60_000, intervalMs: 50, label: 'a running service to kill' },
      );
      const seen = await statusCounts(new Date(0));
      const duringStart = starting.has(service);
      if (duringStart) {
        crashedWhileStarting.add(service);
        await sys.kill(service);
        // The restart in progress notices and starts it again; if it had just become ready, start it here.
        await waitFor(() => !crashedWhileStarting.has(service) || !starting.has(service), { timeoutMs: 30_000, intervalMs: 20, label: `${service} restart to notice` });
        if (crashedWhileStarting.delete(service)) restartLater(service);
      } else {
        await serial(service, () => sys.kill(service));
        restartLater(service);
      }
      kills.push({ service, step: duringStart ? 'random, while starting' : 'random', seen, matched: true, atMs: Date.now() - started });
      note(`killed ${service} at random${duringStart ? ' while it was starting' : ''}: payments ${JSON.stringify(seen)}`);
    }

    // 1. Wave A pays all at once; payment, wallet and reservation die while payments are STARTED
    //    (debit outstanding) and DEBITED (seat confirmation outstanding). Reservation stays down
    //    until the stranded holds have run out, so every stranded payment must be refunded; it comes
    //    back with long holds, so that wave B, arriving now, can complete once things recover.
    const t0 = await dbNow();
    note('wave A pays');
    const waveA = launch(plansA, { together: true });
    // As many payments in flight as the moment gives: most still STARTED, at least one DEBITED.
    const first = await watch(t0, [
      { when: (c) => (c.STARTED ?? 0) >= 10 && !!c.DEBITED, withinMs: 10_000 },
      { when: (c) => (c.STARTED ?? 0) >= 4 && !!c.DEBITED, withinMs: 10_000 },
      { when: (c) => !!c.STARTED || !!c.DEBITED, withinMs: 60_000 },
    ]);
    const t1 = await killNow(['payment', 'wallet', 'reservation'], 'STARTED+DEBITED', first);
    const stranded: { reservation_id: string; status: Status }[] = await sys.dbs.payment('payments').whereIn('status', ['STARTED', 'DEBITED']).select('reservation_id', 'status');
    restartLater('payment');
    restartLater('reservation', { before: holdsRunOut(stranded.map((p) => p.reservation_id)), env: { HOLD_TTL_SECONDS: '120' } });
    const randomKills = Promise.all([killAtRandom(), killAtRandom()]);
    const waveB = laterPlans.then(([plansB]) => {
      note('wave B arrives');
      return launch(plansB);
    });
    waveB.catch(() => undefined);

    // 2. The refused confirmations turn into refunds, which wait for the wallet (still down): payment
    //    dies while payments are COMPENSATING; then the wallet comes back and dies at once, while the
    //    payments are still COMPENSATING (payment is down, so nothing moves them on). That needs a
    //    payment whose confirmation the dead reservation service never applied (its reservation still
    //    HELD in its database); when the kill came too late for that, the wallet comes back first and
    //    payment and wallet die at the first refund seen outstanding.
    const debited = stranded.filter((p) => p.status === 'DEBITED').map((p) => p.reservation_id);
    const unconfirmed = debited.length ? await sys.dbs.reservation('reservations').whereIn('id', debited).where({ status: 'HELD' }).pluck('id') : [];
    note(`${unconfirmed.length} of ${debited.length} DEBITED payments have their confirmation outstanding`);
    if (unconfirmed.length) {
      const compensating = await watch(t1, [{ when: (c) => !!c.COMPENSATING, withinMs: 120_000 }]);
      await killNow(['payment'], 'COMPENSATING', compensating);
      await restartLater('wallet');
      const seen = await statusCounts(t1);
      await killNow(['wallet'], 'COMPENSATING', { seen, matched: !!seen.COMPENSATING });
    } else {
      await restartLater('wallet');
      const compensating = await watch(t1, [{ when: (c) => !!c.COMPENSATING, withinMs: 60_000 }]);
      await killNow(['payment', 'wallet'], 'COMPENSATING', compensating);
    }
    restartLater('payment');
    restartLater('wallet');

    await randomKills;
    await Promise.all(restarts);
    const [, plansD] = await laterPlans;
    const busy = [...(await waveA), ...(await waveB)];
    note('waves A and B have their answers');
    const live = () => sys.dbs.payment('payments').whereIn('status', ['STARTED', 'DEBITED', 'COMPENSATING']);
    let converged = true;
    try {
      await waitFor(async () => Number((await live().count<{ count: number }[]>('* as count'))[0]!.count) === 0, { timeoutMs: 120_000, intervalMs: 250, label: 'every payment terminal after the faults' });
      note('every payment terminal');
    } catch {
      converged = false;
    }
    // Wave D on the recovered system: checkouts complete again.
    const calm = converged ? await launch(plansD) : [];
    note('wave D has its answers');
    const results = [...busy, ...calm];
    const stuck: unknown[] = await live().select('id', 'status', 'failure_reason', 'step_attempts', 'step_started_at', 'next_retry_at');
    const fanErrors = results.filter((r) => r.error).map((r) => `${r.plan.wave} ${r.plan.fan.userId}: ${r.error}`);

    // ---- what every fan was told agrees with the databases --------------------------------------
    interface PaymentRecord {
      id: string;
      status: string;
      failure_reason: string | null;
      refunded: boolean;
      user_id: string;
      idempotency_key: string;
    }
    const records: PaymentRecord[] = await sys.dbs.payment('payments').select('id', 'status', 'failure_reason', 'refunded', 'user_id', 'idempotency_key');
    const byKey = new Map(records.map((p) => [`${p.user_id}/${p.idempotency_key}`, p]));
    const disagreements: string[] = [];
    for (const { plan, outcome } of results) {
      if (!outcome) continue;
      const row = byKey.get(`${plan.fan.userId}/${outcome.key}`);
      const told = outcome.payment;
      if (told) {
        if (!row || row.id !== told.paymentId || row.status !== told.status || row.refunded !== told.refunded) {
          disagreements.push(`${plan.fan.email}: told ${JSON.stringify(told)}, database ${JSON.stringify(row)}`);
        }
      } else if (row && outcome.code !== 'DUPLICATE_PAYMENT') {
        disagreements.push(`${plan.fan.email}: told ${outcome.status} ${outcome.code} without a payment, database has ${JSON.stringify(row)}`);
      }
      if (plan.poor && told?.status === 'COMPLETED') disagreements.push(`${plan.fan.email} paid ${PRICE} with ${plan.charges.join('+')} in the wallet`);
    }

    const report: CheckoutInvariantReport = await checkCheckoutInvariants(sys.dbs, { expectedCharges: chargesAnswered });
    const tally = (list: FanResult[]) =>
      list.reduce<Record<string, number>>((acc, r) => {
        const o = r.outcome;
        const what = !r.reservationId ? 'no hold' : o?.payment ? `${o.payment.status}${o.payment.failureReason ? ` ${o.payment.failureReason}` : ''}${o.payment.refunded ? ' refunded' : ''}` : `${o?.status} ${o?.code}`;
        acc[what] = (acc[what] ?? 0) + 1;
        return acc;
      }, {});
    const errorLines = (service: ServiceName) =>
      sys
        .output(service)
        .split('\n')
        .filter((l) => /"level":"(error|fatal)"/.test(l))
        .slice(-5);
    // Nothing was given up on: every dead-letter topic of this run is empty.
    const admin = testKafka().admin();
    await admin.connect();
    const deadLettered: Record<string, number> = {};
    try {
      for (const { name } of allTopics(sys.topicPrefix).filter((t) => t.name.endsWith('.dlq'))) {
        const n = (await admin.fetchTopicOffsets(name)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
        if (n) deadLettered[name] = n;
      }
    } finally {
      await admin.disconnect();
    }
    const summary = {
      deadLettered,
      timeline,
      fanErrors,
      stuck,
      serviceErrors: Object.fromEntries(chaosServices.map((s) => [s, errorLines(s)])),
      kills: kills.map((k) => `${k.service}@${k.step}${k.matched ? '' : ' (fallback)'} +${(k.atMs / 1000).toFixed(1)}s seen ${JSON.stringify(k.seen)}`),
      waves: { faulted: tally(busy), calm: tally(calm) },
      keyInFlightAnswers: results.filter((r) => r.outcome?.inFlight).map((r) => `${r.plan.wave}: ${r.outcome!.inFlight} of ${r.outcome!.posts} POSTs`),
      slowestPayments: busy
        .filter((r) => r.outcome)
        .sort((x, y) => y.outcome!.settledAt - x.outcome!.settledAt)
        .slice(0, 3)
        .map((r) => `${r.plan.wave} settled at +${((r.outcome!.settledAt - (started - testStarted)) / 1000).toFixed(1)}s: ${r.outcome!.trail}`),
      invariants: report.counts,
    };
    console.log(`checkout fault run:\n${JSON.stringify(summary, null, 2)}`);

    // The run did what it is for: every service killed, every outcome reached.
    expect(chaosServices.map((s) => kills.filter((k) => k.service === s).length >= 1)).toEqual([true, true, true]);
    expect(fanErrors).toEqual([]);
    expect(stuck).toEqual([]);
    expect(deadLettered).toEqual({});
    expect(disagreements).toEqual([]);
    // INVARIANT CHECK (money conserved, every debit sold or refunded, no seat sold twice, every payment terminal).
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ inProgress: 0 });
    expect(report.counts.completed).toBeGreaterThan(0);
    expect(report.counts.refunded).toBeGreaterThan(0);
    expect(report.counts.failedInsufficientBalance).toBeGreaterThan(0);
  }, 420_000);

  it('has an invariant check that finds each kind of break (made in transactions that are rolled back)', async () => {
    const sys = system!;
    const [payment, wallet, reservation] = await Promise.all([sys.dbs.payment.transaction(), sys.dbs.wallet.transaction(), sys.dbs.reservation.transaction()]);
    try {
      const clean = await checkCheckoutInvariants({ payment, wallet, reservation });
      expect(clean.problems).toEqual([]);
      const sold = await payment('payments').where({ status: 'COMPLETED' }).first();
      const account = await wallet('accounts').whereNot({ user_id: sold.user_id }).first();
      // A paid seat whose payment says it failed; a debit for a payment that never existed (its line
      // not even moving the balance); a balance off by one; a payment left half-way.
      await payment('payments').where({ id: sold.id }).update({ status: 'FAILED', failure_reason: 'HOLD_EXPIRED' });
      const ghost = randomUUID();
      const [{ balance }] = await wallet('accounts').where({ user_id: sold.user_id }).select('balance');
      await wallet('ledger').insert({ transaction_id: randomUUID(), user_id: sold.user_id, kind: 'DEBIT', amount: 1, balance_after: Number(balance), payment_id: ghost });
      await wallet('accounts').where({ user_id: account.user_id }).increment('balance', 1);
      const halfWay = randomUUID();
      await payment('payments').insert({ id: halfWay, user_id: sold.user_id, reservation_id: randomUUID(), amount: 1, status: 'DEBITED', idempotency_key: randomUUID(), correlation_id: halfWay });

      const broken = await checkCheckoutInvariants({ payment, wallet, reservation });
      expect(broken.ok).toBe(false);
      const expected = [
        `payment ${sold.id} (FAILED HOLD_EXPIRED): debited`,
        `reservation ${sold.reservation_id} is SOLD with payment ${sold.id}, which is FAILED`,
        `names payment ${ghost}, which does not exist`,
        `user ${sold.user_id}: balance`,
        `ledger line`,
        `user ${account.user_id}: balance`,
        `payment ${halfWay} (DEBITED): not terminal`,
      ];
      for (const text of expected) expect(broken.problems.some((p) => p.includes(text)) ? text : broken.problems).toBe(text);
    } finally {
      await Promise.all([payment.rollback(), wallet.rollback(), reservation.rollback()]);
    }
  });
});
