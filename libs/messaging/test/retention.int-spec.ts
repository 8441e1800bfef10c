import { delay, testKafka, waitFor } from '@ticketing/testing';
import type { Producer } from 'kafkajs';
import { OUTBOX_TABLE, PROCESSED_TABLE, autovacuumIsOff, encodeEvent, purgeProcessedMessages, purgePublishedOutbox } from '../src';
import { createBackbone, heldEvent, newKey, type Backbone } from './backbone.harness';

const HOUR = 3_600_000;

describe('retention of the outbox and of processed message ids (real PostgreSQL and broker)', () => {
  let bb: Backbone;
  beforeEach(async () => {
    bb = await createBackbone('retention');
  });
  afterEach(() => bb.cleanup());

  /** Inserts `count` outbox rows created `createdAgo` ago and published `publishedAgo` ago (null = not published); returns their ids. */
  async function outboxRows(count: number, publishedAgo: string | null, createdAgo = publishedAgo ?? '0 seconds'): Promise<number[]> {
    const { rows } = await bb.db.raw(
      `insert into ${OUTBOX_TABLE} (event_id, topic, key, type, envelope, created_at, published_at)
       select gen_random_uuid(), 'retention-test', 'k' || n, 'reservation.held', '{}'::jsonb,
              now() - ?::interval, now() - ?::interval
       from generate_series(1, ?) n returning id`,
      [createdAgo, publishedAgo, count],
    );
    return rows.map((r: { id: number }) => Number(r.id));
  }

  async function processedRows(consumer: string, count: number, ago: string): Promise<string[]> {
    const { rows } = await bb.db.raw(
      `insert into ${PROCESSED_TABLE} (consumer, message_id, processed_at)
       select ?, gen_random_uuid(), now() - ?::interval from generate_series(1, ?) returning message_id`,
      [consumer, ago, count],
    );
    return rows.map((r: { message_id: string }) => r.message_id);
  }

  const outboxIds = async () => (await bb.db(OUTBOX_TABLE).select('id').orderBy('id')).map((r) => Number(r.id));

  it('purges exactly the outbox rows published longer ago than the retention, never an unpublished one', async () => {
    const old = await outboxRows(300, '2 hours');
    const young = await outboxRows(200, '59 minutes');
    const fresh = await outboxRows(100, '0 seconds');
    const unpublished = await outboxRows(50, null, '3 days'); // waiting for a broker for days: still to be sent

    const deleted = await purgePublishedOutbox(bb.db, { retentionMs: HOUR, batchSize: 70 });

    expect(deleted).toBe(old.length);
    expect(await outboxIds()).toEqual([...young, ...fresh, ...unpublished]);
  });

  it('clears a backlog bigger than 10,000 rows (more than a minute at a rate above 10,000/min) in one round', async () => {
    const backlog = await outboxRows(30_000, '2 hours');
    const kept = await outboxRows(10, '1 minute');
    expect(backlog).toHaveLength(30_000);

    expect(await purgePublishedOutbox(bb.db, { retentionMs: HOUR, batchSize: 5_000 })).toBe(30_000);
    expect(await outboxIds()).toEqual(kept);
  });

  it("the relay's purge keeps up with a writer far faster than one batch per round", async () => {
    // 200 rows a statement every 500 ms would delete at most ~400 rows/s: the writer below makes
    // 3,000 published rows/s (180,000 a minute), so only a purge that goes on while its batches
    // come back full keeps the table at its retention.
    const retentionMs = 1_000;
    const purgeIntervalMs = 500;
    await bb.startRelay({ retentionMs, purgeIntervalMs, purgeBatchSize: 200 });
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await outboxRows(300, '0 seconds');
        written += 300;
        await delay(100);
      }
    })();
    const ages: number[] = [];
    const startedAt = Date.now();
    while (Date.now() - startedAt < 8_000) {
      await delay(250);
      const { rows } = await bb.db.raw(`select coalesce(extract(epoch from now() - min(published_at)) * 1000, 0)::float8 as oldest_ms from ${OUTBOX_TABLE}`);
      ages.push(Number(rows[0].oldest_ms));
    }
    writing = false;
    await writer;

    expect(written).toBeGreaterThan(15_000);
    // Oldest row: at most retention + one interval + time for the statements, never a growing backlog.
    expect(Math.max(...ages.slice(8))).toBeLessThan(retentionMs + purgeIntervalMs + 2_000);
    await waitFor(async () => (Number((await bb.db(OUTBOX_TABLE).count({ n: '*' }).first())?.n) === 0 ? true : undefined), {
      label: 'every row purged once past retention',
      timeoutMs: retentionMs + 4 * purgeIntervalMs + 3_000,
    });
  });

  it('purges processed message ids past retention across consumers, and keeps the younger ones', async () => {
    const old = [...(await processedRows('group-a', 120, '2 hours')), ...(await processedRows('group-b', 80, '25 hours'))];
    const young = [...(await processedRows('group-a', 40, '59 minutes')), ...(await processedRows('group-b', 10, '1 second'))];

    expect(await purgeProcessedMessages(bb.db, { retentionMs: HOUR, batchSize: 30 })).toBe(old.length);
    const left = (await bb.db(PROCESSED_TABLE).select('message_id')).map((r) => r.message_id);
    expect(left.sort()).toEqual([...young].sort());
  });

  describe('in a running consumer', () => {
    let producer: Producer;
    beforeEach(async () => {
      producer = testKafka().producer();
      await producer.connect();
    });
    afterEach(() => producer.disconnect());

    it('drops old ids, keeps recent ones so a redelivered message is still applied once, and vacuums the table where autovacuum is off', async () => {
      const old = await processedRows('an-old-group', 5_000, '2 hours');
      const recent = await processedRows('an-old-group', 100, '10 seconds');
      const key = newKey();
      const envelope = encodeEvent(heldEvent(key, 1));
      const outcomes: string[] = [];
      const { rows: before } = await bb.db.raw('select now() as at');
      await bb.startConsumer({
        processedRetentionMs: 60_000,
        processedPurgeIntervalMs: 300,
        processedPurgeBatchSize: 1_000,
        onProcessed: (event, outcome) => event.id === envelope.id && outcomes.push(outcome),
      });
      const send = () => producer.send({ topic: bb.topic, messages: [{ key, value: JSON.stringify(envelope) }] });
      await send();
      await waitFor(() => outcomes.length === 1 || undefined, { label: 'the message applied' });

      await waitFor(async () => ((await bb.db(PROCESSED_TABLE).whereIn('message_id', old).count({ n: '*' }).first())?.n === 0 ? true : undefined), {
        label: 'ids past retention purged',
        timeoutMs: 10_000,
      });
      await delay(1_000); // a few more purge rounds
      const kept = (await bb.db(PROCESSED_TABLE).select('message_id')).map((r) => r.message_id);
      expect(kept.sort()).toEqual([...recent, envelope.id].sort());

      // The broker delivers the same message again (a re-send, a replay): its id is still known.
      await send();
      await waitFor(() => outcomes.length === 2 || undefined, { label: 'the copy seen' });
      expect(outcomes).toEqual(['applied', 'duplicate']);
      expect(await bb.effects()).toHaveLength(1);

      if (await autovacuumIsOff(bb.db)) {
        // Only a round that deleted something vacuums; the counts of dead rows are reported lazily, so
        // the proof is a vacuum of the table since the consumer started.
        const { rows } = await bb.db.raw(`select vacuum_count, last_vacuum from pg_stat_user_tables where relname = ?`, [PROCESSED_TABLE]);
        expect(Number(rows[0].vacuum_count)).toBeGreaterThan(0);
        expect(new Date(rows[0].last_vacuum).getTime()).toBeGreaterThan(new Date(before[0].at).getTime());
      }
    });
  });
});
