import { encodeEvent, type NewEvent } from '@ticketing/messaging';
import { testKafka, waitFor } from '@ticketing/testing';
import type { EventType } from '@ticketing/contracts';
import type { Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { createReservationHarness, hold, schedulePublished, type ReservationHarness } from './reservation.harness';

describe('reservation consumers (real Kafka and PostgreSQL)', () => {
  let h: ReservationHarness;
  let prefix: string;
  let groupId: string;
  let producer: Producer;

  beforeAll(async () => {
    h = await createReservationHarness();
    ({ prefix, groupId } = h);
    // An instance as main.ts runs it: the runtime's consumer over both features' handlers.
    await h.startMessaging();
    producer = testKafka().producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await h?.cleanup();
  });

  /** Sends envelopes as the relay would (JSON value, aggregate id as key). */
  async function send<T extends EventType>(...envelopes: ReturnType<typeof encodeEvent<T>>[]) {
    for (const envelope of envelopes) {
      await producer.send({ topic: `${prefix}${envelope.type}`, messages: [{ key: 'k', value: JSON.stringify(envelope) }] });
    }
  }
  const processed = async (ids: string[]) => (await h.db('processed_messages').where({ consumer: groupId }).whereIn('message_id', ids)).length === ids.length;

  it('schedule.published creates the seats once: a duplicate message and a re-publication change nothing, even a held seat', async () => {
    const scheduleId = randomUUID();
    const published = encodeEvent({ type: 'schedule.published', key: scheduleId, payload: schedulePublished(scheduleId, { seats: 50, price: 70_000 }) });
    await send(published, published);
    await waitFor(() => processed([published.id]), { label: 'schedule.published applied' });
    const seats = await h.db('seats').where({ schedule_id: scheduleId }).orderBy('seat_no');
    expect(seats).toHaveLength(50);
    expect(seats.every((s, i) => s.seat_no === i + 1 && s.status === 'AVAILABLE' && s.version === 1 && s.price === 70_000)).toBe(true);

    const userId = randomUUID();
    expect((await hold(h.a.url, userId, scheduleId, 1)).status).toBe(201);
    const again = encodeEvent({ type: 'schedule.published', key: scheduleId, payload: schedulePublished(scheduleId, { seats: 50, price: 1 }) });
    await send(again);
    await waitFor(() => processed([again.id]), { label: 're-publication applied' });
    expect(await h.db('seats').where({ schedule_id: scheduleId })).toHaveLength(50);
    expect(await h.seat(scheduleId, 1)).toMatchObject({ status: 'HELD', holder_user_id: userId, version: 2, price: 70_000 });
    expect(await h.seat(scheduleId, 2)).toMatchObject({ status: 'AVAILABLE', version: 1, price: 70_000 });
  });

  it('reservation.confirm-requested: sells the hold once per message, confirms the same payment again, rejects the rest', async () => {
    const scheduleId = await h.publishSchedule();
    const userId = randomUUID();
    const reservationId = (await hold(h.a.url, userId, scheduleId, 8)).body.reservationId as string;
    const paymentId = randomUUID();
    const request = (payload: NewEvent<'reservation.confirm-requested'>['payload']) => encodeEvent({ type: 'reservation.confirm-requested', key: payload.paymentId, payload });

    const first = request({ paymentId, reservationId, userId });
    await send(first, first); // delivered twice: applied once
    await waitFor(() => processed([first.id]), { label: 'confirm applied' });
    const resent = request({ paymentId, reservationId, userId }); // the saga asked again
    const otherPayment = request({ paymentId: randomUUID(), reservationId, userId });
    const unknown = request({ paymentId: randomUUID(), reservationId: randomUUID(), userId });
    await send(resent, otherPayment, unknown);
    await waitFor(() => processed([resent.id, otherPayment.id, unknown.id]), { label: 'later requests applied' });

    expect(await h.seat(scheduleId, 8)).toMatchObject({ status: 'SOLD', holder_user_id: userId, version: 3 });
    const confirmed = (await h.events('reservation.confirmed')).filter((e) => e.payload.reservationId === reservationId);
    expect(confirmed.map((e) => [e.causationId, e.payload.paymentId, e.payload.seatVersion])).toEqual([
      [first.id, paymentId, 3],
      [resent.id, paymentId, 3],
    ]);
    const rejected = await h.events('reservation.confirm-rejected');
    expect(rejected.find((e) => e.causationId === otherPayment.id)?.payload.reason).toBe('ALREADY_SOLD');
    expect(rejected.find((e) => e.causationId === unknown.id)?.payload.reason).toBe('UNKNOWN_RESERVATION');
  });
});
