import { readTopic, testKafka, waitFor } from '@ticketing/testing';
import { ContractViolationError, OUTBOX_TABLE, createOutboxWriter, createTopics, decodeEvent } from '../src';
import { createBackbone, heldEvent, newKey, type Backbone } from './backbone.harness';

describe('transactional outbox → Kafka (real PostgreSQL and broker)', () => {
  let bb: Backbone;
  beforeEach(async () => {
    bb = await createBackbone('outbox');
  });
  afterEach(() => bb.cleanup());

  it('delivers a committed event, in a valid envelope, and marks the row published', async () => {
    const key = newKey();
    const [written] = await bb.commit(heldEvent(key, 1, { correlationId: 'req-42' }));
    await bb.startRelay();
    await bb.startConsumer();

    const effects = await waitFor(async () => ((await bb.effects()).length === 1 ? bb.effects() : undefined), { label: 'one effect' });
    expect(effects[0]).toMatchObject({ event_id: written.id, key, seq: 1 });

    const [message] = await readTopic(bb.topic, 1);
    expect(message.key?.toString()).toBe(key);
    const envelope = decodeEvent(message.value);
    expect(envelope).toMatchObject({ id: written.id, type: 'reservation.held', version: 1, correlationId: 'req-42', causationId: null });
    expect(message.headers?.['event-type']?.toString()).toBe('reservation.held');

    const row = await bb.db(OUTBOX_TABLE).where('event_id', written.id).first();
    expect(row.published_at).not.toBeNull();
  });

  it('vacuums its outbox, so published rows do not leave dead index entries for every claim to wade through', async () => {
    const key = newKey();
    await bb.commit(...Array.from({ length: 50 }, (_, i) => heldEvent(key, i + 1)));
    await bb.startRelay({ vacuumIntervalMs: 200 });
    await waitFor(async () => (Number((await bb.db(OUTBOX_TABLE).whereNull('published_at').count('* as n').first())?.n) === 0 ? true : undefined), { label: 'all published' });
    // The statistics show a vacuum after the rows were published, and no dead row versions left.
    const stats = await waitFor(
      async () => {
        const { rows } = await bb.db.raw(`select n_dead_tup, vacuum_count from pg_stat_user_tables where relname = ?`, [OUTBOX_TABLE]);
        return rows[0]?.vacuum_count > 0 && Number(rows[0].n_dead_tup) === 0 ? rows[0] : undefined;
      },
      { label: 'outbox vacuumed', timeoutMs: 10_000 },
    );
    expect(Number(stats.vacuum_count)).toBeGreaterThan(0);
  });

  it('never publishes an event whose transaction rolled back', async () => {
    const key = newKey();
    const rolledBack = heldEvent(key, 1);
    await expect(
      bb.db.transaction(async (trx) => {
        await bb.outbox.append(trx, rolledBack);
        throw new Error('business rule failed after the event was written');
      }),
    ).rejects.toThrow('business rule failed');
    // Same key, so had the first been published it would sit before this one in the same partition.
    const [committed] = await bb.commit(heldEvent(key, 2));
    await bb.startRelay();
    await bb.startConsumer();

    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === committed.id), { label: 'the committed event' });
    const messages = await readTopic(bb.topic, 1);
    expect(messages.map((m) => decodeEvent(m.value).payload)).toEqual([expect.objectContaining({ seatVersion: 2 })]);
    expect(await bb.effects()).toHaveLength(1);
    expect(await bb.db(OUTBOX_TABLE).count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('refuses an event that breaks its contract at write time, and the transaction commits nothing', async () => {
    const bad = heldEvent(newKey(), 1);
    (bad.payload as { seatNo: unknown }).seatNo = 'seven';
    await expect(bb.commit(bad)).rejects.toBeInstanceOf(ContractViolationError);
    expect(await bb.db(OUTBOX_TABLE).count({ n: '*' }).first()).toEqual({ n: 0 });
  });

  it('wakes the relay in the writing process on commit instead of waiting for its poll interval', async () => {
    // A poll interval far beyond the wait below: only the commit wake-up can deliver in time.
    const relay = await bb.startRelay({ pollIntervalMs: 120_000 });
    await bb.startConsumer();
    await new Promise((r) => setTimeout(r, 500)); // let the relay go idle
    const writer = createOutboxWriter({ topicPrefix: bb.prefix, onCommitted: relay.wake });
    const [written] = await bb.db.transaction((trx) => writer.append(trx, heldEvent(newKey(), 1)));
    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === written.id), { timeoutMs: 10_000, label: 'delivery without polling' });
  });

  it('wakes a relay in another process through NOTIFY when the writer asks for it', async () => {
    await bb.startRelay({ pollIntervalMs: 120_000 }); // own pool and LISTEN connection, no local wake-up
    await bb.startConsumer();
    await new Promise((r) => setTimeout(r, 500));
    const writer = createOutboxWriter({ topicPrefix: bb.prefix, notify: true });
    const [written] = await bb.db.transaction((trx) => writer.append(trx, heldEvent(newKey(), 1)));
    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === written.id), { timeoutMs: 10_000, label: 'delivery through NOTIFY' });
  });

  it('retries a failed publish at its retry time, not at the next poll', async () => {
    const [first] = await bb.commit(heldEvent(newKey(), 1));
    const missingTopic = `${bb.prefix}created-later`;
    await bb.db(OUTBOX_TABLE).where('event_id', first.id).update({ topic: missingTopic });
    // A poll far beyond the wait below: only the relay's own retry wake-up can send it in time.
    await bb.startRelay({ pollIntervalMs: 120_000, retryBaseMs: 200, retryMaxMs: 1_000 });
    await waitFor(async () => ((await bb.db(OUTBOX_TABLE).where('event_id', first.id).first()).attempts >= 1 ? true : undefined), { label: 'a failed attempt' });
    const admin = testKafka().admin();
    await admin.connect();
    await createTopics(admin, [{ name: missingTopic, partitions: 1 }]);
    await admin.disconnect();
    await waitFor(async () => ((await bb.db(OUTBOX_TABLE).where('event_id', first.id).first()).published_at ? true : undefined), {
      timeoutMs: 15_000,
      label: 'published at a retry, without a poll',
    });
  });

  it('sends a row that another relay held back by its claim once that claim ends, without a poll', async () => {
    await bb.startConsumer();
    const key = newKey();
    // Relay B is idle and will be woken for the second row while relay A still holds the first.
    const relayB = await bb.startRelay({ pollIntervalMs: 120_000 });
    await new Promise((r) => setTimeout(r, 300));
    const [first] = await bb.db.transaction((trx) => bb.outbox.append(trx, heldEvent(key, 1)));
    let releaseA: () => void = () => undefined;
    const aHolds = new Promise<void>((claimed) => {
      void bb.startRelay({
        pollIntervalMs: 120_000,
        hooks: {
          afterClaim: (rows) => {
            if (!rows.some((r) => r.envelope.id === first.id)) return;
            claimed();
            return new Promise<void>((r) => (releaseA = r));
          },
        },
      });
    });
    await aHolds;
    const writer = createOutboxWriter({ topicPrefix: bb.prefix, onCommitted: relayB.wake });
    const [second] = await bb.db.transaction((trx) => writer.append(trx, heldEvent(key, 2)));
    await new Promise((r) => setTimeout(r, 500)); // B claims: the second row must wait for the first
    expect((await bb.db(OUTBOX_TABLE).where('event_id', second.id).first()).published_at).toBeNull();
    releaseA();
    await waitFor(async () => ((await bb.effects()).some((e) => e.event_id === second.id) ? true : undefined), { timeoutMs: 10_000, label: 'the held-back row' });
    expect((await bb.effects()).filter((e) => e.key === key).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('retries a row the broker refuses at each retry time, not sooner and not at the next poll, backing off by doubling', async () => {
    const [row] = await bb.commit(heldEvent(newKey(), 1));
    // Bigger than the broker takes (message.max.bytes, 1 MiB): refused at once, each time, until shrunk.
    await bb.db(OUTBOX_TABLE).where('event_id', row.id).update({ envelope: bb.db.raw(`jsonb_set(envelope, '{padding}', to_jsonb(repeat('x', 2000000)))`) });
    // Delays shorter than the send of 2 MB: a row is often due again as soon as its failure commits.
    const [baseMs, maxMs] = [50, 400];
    await bb.startRelay({ pollIntervalMs: 120_000, retryBaseMs: baseMs, retryMaxMs: maxMs, maxAttempts: 100 });
    // Failure n sets the retry time a delay after its claim, the delay in [cap/2, cap] with
    // cap = min(max, base × 2^(n-1)). So from the retry time failure n set, its attempt began between
    // cap and cap/2 before it; that attempt must have come at the previous retry time: not before it
    // (less the send of 2 MB), and not long after it (not at the 120 s poll).
    const seen: { attempts: number; dueAt: number }[] = [];
    const startedAt = Date.now();
    while (seen.length < 8 && Date.now() - startedAt < 40_000) {
      const now = await bb.db(OUTBOX_TABLE).where('event_id', row.id).first('attempts', 'next_attempt_at');
      if (now.attempts > 0 && now.attempts !== seen.at(-1)?.attempts) seen.push({ attempts: now.attempts, dueAt: now.next_attempt_at.getTime() });
      await new Promise((r) => setTimeout(r, 10));
    }
    // Eight failures in a row, each seen (none skipped by a retry sooner than the 10 ms look), each at
    // its retry time: 40 s would not even reach the poll.
    expect(seen.map((s) => s.attempts)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const cap = (n: number) => Math.min(maxMs, baseMs * 2 ** (n - 1));
    const offTime = seen
      .slice(1)
      .map((next, i) => ({ next, previous: seen[i] }))
      .filter(({ next, previous }) => next.attempts === previous.attempts + 1)
      .filter(({ next, previous }) => next.dueAt - cap(next.attempts) / 2 < previous.dueAt - 100 || next.dueAt - cap(next.attempts) > previous.dueAt + 1_000);
    expect(offTime).toEqual([]);
  });

  it('retries a failed publish with backoff, keeps that key waiting, and lets other keys through', async () => {
    const stuckKey = newKey();
    const otherKey = newKey();
    // The first row targets a topic that does not exist yet: publishing it fails until it is created.
    const [first] = await bb.commit(heldEvent(stuckKey, 1));
    const missingTopic = `${bb.prefix}not-yet-created`;
    await bb.db(OUTBOX_TABLE).where('event_id', first.id).update({ topic: missingTopic });
    const [second] = await bb.commit(heldEvent(stuckKey, 2));
    const [other] = await bb.commit(heldEvent(otherKey, 1));
    await bb.startRelay({ retryBaseMs: 200, retryMaxMs: 1_000 });
    await bb.startConsumer();

    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === other.id), { label: 'the other key' });
    const failed = await waitFor(
      async () => {
        const row = await bb.db(OUTBOX_TABLE).where('event_id', first.id).first();
        return row.attempts >= 2 ? row : undefined;
      },
      { timeoutMs: 30_000, label: 'two failed attempts' },
    );
    expect(failed.published_at).toBeNull();
    expect(failed.last_error).toBeTruthy();
    // The later event of the stuck key must not overtake the failing one.
    const secondRow = await bb.db(OUTBOX_TABLE).where('event_id', second.id).first();
    expect(secondRow.published_at).toBeNull();
    expect((await bb.effects()).some((e) => e.event_id === second.id)).toBe(false);

    const admin = testKafka().admin();
    await admin.connect();
    await createTopics(admin, [{ name: missingTopic, partitions: 1 }]);
    await admin.disconnect();
    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === second.id), { timeoutMs: 30_000, label: 'the stuck key, after recovery' });
    const row = await bb.db(OUTBOX_TABLE).where('event_id', first.id).first();
    expect(row.published_at).not.toBeNull();
  });
});
