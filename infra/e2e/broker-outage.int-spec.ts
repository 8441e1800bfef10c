import { SERVICE_NAMES, type ServiceName } from '@ticketing/config';
import { OUTBOX_DEAD_LETTER_TABLE, OUTBOX_TABLE } from '@ticketing/messaging';
import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { seedDemo } from '../scripts/seed-demo';
import { startPrivateKafka, type PrivateKafka } from '../stack';
import { call, expectStatus, lineUp, signUpAndLogIn, waitUntilActive, type Fan } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * The broker-outage drill: the five services as processes on a broker of this test's own, which the
 * test pauses (SIGSTOP: connections stay open, nothing answers, as a hung broker). While it is away
 * every service stays ready (its database answers), a hold and a wallet charge succeed, the hold's
 * event waits in the outbox; /health/details and `kafka_reachable` say the broker is down. Once it is
 * back the event goes out (the catalog's listing shows the seat HELD) and nothing was dead-lettered,
 * although OUTBOX_MAX_ATTEMPTS is 1: an outage never counts against a row.
 */

jest.setTimeout(240_000);

const PAUSE_MS = 12_000;

interface Schedule {
  scheduleId: string;
}
interface Seat {
  seatNo: number;
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
}

describe('broker paused (all services as processes, a private broker)', () => {
  let kafka: PrivateKafka | undefined;
  let system: RunningSystem | undefined;

  beforeAll(async () => {
    kafka = await startPrivateKafka({ log: () => undefined });
    system = await startSystem({
      label: 'e2e_broker',
      kafkaBrokers: kafka.brokers,
      commonEnv: { OUTBOX_MAX_ATTEMPTS: '1' },
      env: { reservation: { HOLD_TTL_SECONDS: '600' } },
    });
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
  }, 200_000);

  afterAll(async () => {
    kafka?.resume();
    await system?.stop();
    await kafka?.stop();
  });

  // Health and metrics: each service's own port, the gateway's operations port.
  const get = async (service: ServiceName, path: string) => {
    const res = await fetch(`${system!.opsUrls[service]}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, text: await res.text() };
  };
  const kafkaStates = async () =>
    Promise.all(SERVICE_NAMES.map(async (name) => (JSON.parse((await get(name, '/health/details')).text) as { checks: { kafka: { status: string } } }).checks.kafka.status));

  it('keeps every service ready and answering, buffers the events, and sends them once the broker is back', async () => {
    const { api } = system!;
    const fan: Fan = await signUpAndLogIn(api, 'Pat');
    const concerts = expectStatus(await call<{ concerts: { concertId: string }[] }>(`${api}/concerts`), 200, 'concerts').body.concerts;
    await lineUp(api, fan, concerts[0]!.concertId);
    await waitUntilActive(api, fan);
    const [schedule] = expectStatus(await call<{ schedules: Schedule[] }>(`${api}/concerts/${concerts[0]!.concertId}/schedules`, { fan }), 200, 'schedules').body.schedules;
    const seats = async () => expectStatus(await call<{ seats: Seat[] }>(`${api}/schedules/${schedule!.scheduleId}/seats`, { fan }), 200, 'seats').body.seats;
    const hold = (seatNo: number) => call<{ reservationId: string }>(`${api}/reservations`, { method: 'POST', fan, body: { scheduleId: schedule!.scheduleId, seatNo } });
    // The reservation service learns of the date from Kafka: wait for that while the broker is up.
    const before = await waitFor(async () => {
      const answer = await hold(1);
      return answer.status === 404 ? undefined : answer;
    }, { timeoutMs: 60_000, intervalMs: 200, label: 'the date known to reservation' });
    expectStatus(before, 201, 'hold before the pause');
    expect(await kafkaStates()).toEqual(SERVICE_NAMES.map(() => 'up'));

    kafka!.pause();
    const pausedAt = Date.now();
    await waitFor(async () => (await kafkaStates()).every((s) => s === 'down'), { timeoutMs: 15_000, intervalMs: 250, label: 'every service to see the broker down' });
    const metrics = await get('reservation', '/metrics');
    expect(metrics.text).toMatch(/^kafka_reachable\{[^}]*\} 0$/m);

    // Requests that need only the database succeed while the broker is away.
    const held = expectStatus(await hold(7), 201, 'hold while the broker is paused');
    const charge = await call(`${api}/wallet/charges`, { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: { amount: 10_000 } });
    expectStatus(charge, 201, 'charge while the broker is paused');
    const buffered = await system!.dbs.reservation(OUTBOX_TABLE).whereRaw(`envelope->'payload'->>'reservationId' = ?`, [held.body.reservationId]).first();
    expect(buffered).toMatchObject({ type: 'reservation.held', published_at: null });

    // Ready all along, probed every 250 ms for the whole pause.
    while (Date.now() - pausedAt < PAUSE_MS) {
      const answers = await Promise.all(SERVICE_NAMES.map(async (name) => [name, (await get(name, '/health/ready')).status] as const));
      expect(answers).toEqual(SERVICE_NAMES.map((name) => [name, 200]));
      await new Promise((r) => setTimeout(r, 250));
    }

    kafka!.resume();
    await waitFor(async () => (await seats())[7 - 1]!.status === 'HELD', { timeoutMs: 90_000, intervalMs: 250, label: 'the buffered hold to reach the listing' });
    await waitFor(async () => (await kafkaStates()).every((s) => s === 'up'), { timeoutMs: 30_000, intervalMs: 250, label: 'every service to see the broker up' });
    expect((await get('reservation', '/metrics')).text).toMatch(/^kafka_reachable\{[^}]*\} 1$/m);
    for (const name of SERVICE_NAMES) {
      expect([name, await system!.dbs[name](OUTBOX_DEAD_LETTER_TABLE).count({ n: '*' }).first()]).toEqual([name, { n: 0 }]);
    }
    const published = await system!.dbs.reservation(OUTBOX_TABLE).where('id', buffered.id).first();
    expect(published.published_at).not.toBeNull();
  });
});
