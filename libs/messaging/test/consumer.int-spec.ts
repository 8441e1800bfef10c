import { deadLetterTopic } from '@ticketing/contracts';
import { readTopic, testKafka, uniqueName, waitFor } from '@ticketing/testing';
import type { Producer } from 'kafkajs';
import { encodeEvent, NonRetriableError, PROCESSED_TABLE } from '../src';
import { createBackbone, heldEvent, newKey, type Backbone } from './backbone.harness';

describe('idempotent consumer and dead-letter topics (real broker and database)', () => {
  let bb: Backbone;
  const kafka = testKafka();
  // A producer per test: kafkajs refreshes metadata for every topic a producer ever sent to, and the
  // previous test's topics are deleted by then.
  let producer: Producer;

  beforeEach(async () => {
    bb = await createBackbone('consumer');
    producer = kafka.producer();
    await producer.connect();
  });
  afterEach(async () => {
    await producer.disconnect();
    await bb.cleanup();
  });

  const send = (key: string, value: string) => producer.send({ topic: bb.topic, messages: [{ key, value }] });

  it('applies a message delivered twice exactly once', async () => {
    const key = newKey();
    const envelope = JSON.stringify(encodeEvent(heldEvent(key, 1)));
    await bb.startConsumer();
    await send(key, envelope);
    await waitFor(async () => (await bb.effects()).length === 1, { label: 'the first delivery applied' });
    // The copy arrives in a later batch, so only the recorded message id can stop it.
    await send(key, envelope);
    const marker = encodeEvent(heldEvent(key, 2));
    await send(key, JSON.stringify(marker));

    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === marker.id), { label: 'the marker' });
    expect((await bb.effects()).map((e) => e.seq)).toEqual([1, 2]);
    expect(await bb.db(PROCESSED_TABLE).count({ n: '*' }).first()).toEqual({ n: 2 });
  });

  it('applies a copy inside the same batch once', async () => {
    const key = newKey();
    const envelope = JSON.stringify(encodeEvent(heldEvent(key, 1)));
    await send(key, envelope);
    await send(key, envelope);
    const marker = encodeEvent(heldEvent(key, 2));
    await send(key, JSON.stringify(marker));
    await bb.startConsumer();
    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === marker.id), { label: 'the marker' });
    expect((await bb.effects()).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('changes nothing when a whole partition is replayed from the beginning (offsets reset)', async () => {
    const keys = Array.from({ length: 10 }, newKey);
    for (const [i, key] of keys.entries()) await bb.commit(heldEvent(key, i + 1));
    await bb.startRelay();
    const groupId = uniqueName('replay');
    const first = await bb.startConsumer({ groupId });
    await waitFor(async () => (await bb.effects()).length === 10, { label: '10 effects' });
    await first.stop();

    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId, topic: bb.topic, earliest: true });
    await admin.disconnect();
    let redelivered = 0;
    await bb.startConsumer({ groupId, onProcessed: (_e, outcome) => outcome === 'duplicate' && redelivered++ });
    await waitFor(() => redelivered >= 10, { label: '10 redeliveries' });
    expect(await bb.effects()).toHaveLength(10);
  });

  it('sends poison messages to <topic>.dlq with the reason, and the partition moves on', async () => {
    const key = newKey(); // one key → one partition: the good message waits behind every poison one
    const poisonSeq = 13;
    const fatalSeq = 14;
    let attemptsOnPoison = 0;
    await bb.startConsumer({
      maxAttempts: 3,
      handlers: {
        'reservation.held': async (event, { trx }) => {
          if (event.payload.seatVersion === poisonSeq) {
            attemptsOnPoison++;
            throw new Error('handler keeps failing');
          }
          if (event.payload.seatVersion === fatalSeq) throw new NonRetriableError('can never apply');
          await trx('effects').insert({ event_id: event.id, key, seq: event.payload.seatVersion });
        },
      },
    });
    const schemaBreaking = encodeEvent(heldEvent(key, 1)) as unknown as { payload: { seatNo: unknown } };
    schemaBreaking.payload.seatNo = -3;
    await send(key, '{not json');
    await send(key, JSON.stringify(schemaBreaking));
    await send(key, JSON.stringify({ ...encodeEvent(heldEvent(key, 1)), type: 'nobody.heard-of-it' }));
    await send(key, JSON.stringify(encodeEvent(heldEvent(key, poisonSeq))));
    await send(key, JSON.stringify(encodeEvent(heldEvent(key, fatalSeq))));
    const good = encodeEvent(heldEvent(key, 99));
    await send(key, JSON.stringify(good));

    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === good.id), { label: 'the good message after the poison' });
    const dead = await readTopic(deadLetterTopic(bb.topic), 5);
    const reasons = dead.map((m) => m.headers?.['dlq-reason']?.toString());
    expect(reasons).toEqual(['CONTRACT_VIOLATION', 'CONTRACT_VIOLATION', 'CONTRACT_VIOLATION', 'MAX_ATTEMPTS', 'NON_RETRIABLE']);
    expect(dead[0].value?.toString()).toBe('{not json'); // the original bytes, for inspection and replay
    expect(dead[0].headers?.['dlq-error']?.toString()).toMatch(/malformed JSON/);
    expect(dead[1].headers?.['dlq-error']?.toString()).toMatch(/seatNo/);
    expect(dead[3].headers?.['dlq-attempts']?.toString()).toBe('3');
    expect(dead[3].headers?.['dlq-original-topic']?.toString()).toBe(bb.topic);
    expect(attemptsOnPoison).toBe(3);
    expect((await bb.effects()).map((e) => e.seq)).toEqual([99]);
  });

  it('retries a handler that fails for a while, then applies it once, without dead-lettering', async () => {
    const key = newKey();
    let calls = 0;
    let deadLettered = 0;
    await bb.startConsumer({
      maxAttempts: 5,
      onDeadLettered: () => deadLettered++,
      handlers: {
        'reservation.held': async (event, { trx }) => {
          await trx('effects').insert({ event_id: event.id, key, seq: event.payload.seatVersion });
          if (++calls < 3) throw new Error('transient trouble after writing'); // rolls the insert back
        },
      },
    });
    await send(key, JSON.stringify(encodeEvent(heldEvent(key, 1))));
    await waitFor(async () => (await bb.effects()).length === 1, { label: 'one effect' });
    expect(calls).toBe(3);
    expect(deadLettered).toBe(0);
    expect(await bb.effects()).toHaveLength(1);
  });
});
