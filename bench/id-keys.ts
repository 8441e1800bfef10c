/**
 * Random (v4) against time-ordered (v7) uuid keys on the real PostgreSQL: inserts rows into tables
 * shaped like the outbox (a uuid primary key and a JSON payload) and reports the insert time, the
 * WAL written and the size of the primary key's index for each.
 *
 *   node --import tsx bench/id-keys.ts            (BENCH_ID_ROWS, default 200,000 rows per run)
 *
 * Two ways of inserting: multi-row statements (the cost is the index and the heap, not round
 * trips) and one row per transaction from BENCH_ID_CLIENTS connections (how the services write).
 * Then the real tables: BENCH_ID_OUTBOX_ROWS events through the outbox writer, one per
 * transaction as a use case writes them, and their ids recorded in processed_messages 100 per
 * transaction as a consumer does, with v4 ids and with v7 ids.
 * It makes and drops a database of its own; it needs no running stack.
 */
import { randomUUID } from 'node:crypto';
import { commonSchema, loadConfig, withDatabase } from '@ticketing/config';
import { createDatabase, newId, type Database } from '@ticketing/db';
import { OUTBOX_TABLE, PROCESSED_TABLE, createMessagingTables, createOutboxWriter, dropMessagingTables } from '@ticketing/messaging';
import { z } from 'zod';

const config = loadConfig(
  commonSchema.extend({
    BENCH_ID_ROWS: z.coerce.number().int().min(1_000).default(200_000),
    BENCH_ID_SINGLE_ROWS: z.coerce.number().int().min(0).default(50_000),
    BENCH_ID_CLIENTS: z.coerce.number().int().min(1).max(64).default(8),
    BENCH_ID_ROUNDS: z.coerce.number().int().min(1).max(5).default(2),
    BENCH_ID_OUTBOX_ROWS: z.coerce.number().int().min(0).default(50_000),
  }),
);

const kinds = { v4: randomUUID, v7: newId } as const;
type Kind = keyof typeof kinds;
const payload = JSON.stringify({ type: 'reservation.held', payload: { seatNo: 7, price: 120_000, note: 'x'.repeat(200) } });

interface Run {
  kind: Kind;
  mode: string;
  rows: number;
  seconds: number;
  walMiB: number;
  pkeyMiB: number;
  tableMiB: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function measure(db: Database, kind: Kind, mode: 'batched' | 'single', rows: number): Promise<Run> {
  const table = `ids_${kind}`;
  await db.raw(`drop table if exists ${table}`);
  await db.raw(`create table ${table} (id uuid primary key, payload jsonb not null, created_at timestamptz not null default now())`);
  await db.raw('checkpoint');
  const lsn = async () => ((await db.raw(`select pg_current_wal_lsn()::text as lsn`)).rows[0].lsn as string);
  const walStart = await lsn();
  const started = performance.now();
  const next = kinds[kind];
  if (mode === 'batched') {
    for (let done = 0; done < rows; done += 1_000) {
      const n = Math.min(1_000, rows - done);
      await db(table).insert(Array.from({ length: n }, () => ({ id: next(), payload })));
    }
  } else {
    let left = rows;
    await Promise.all(
      Array.from({ length: config.BENCH_ID_CLIENTS }, async () => {
        while (left-- > 0) await db(table).insert({ id: next(), payload });
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const walEnd = await lsn();
  const { rows: sizes } = await db.raw(
    `select pg_wal_lsn_diff(?::pg_lsn, ?::pg_lsn)::bigint as wal, pg_relation_size(?) as pkey, pg_relation_size(?) as heap`,
    [walEnd, walStart, `${table}_pkey`, table],
  );
  await db.raw(`drop table ${table}`);
  return { kind, mode, rows, seconds, walMiB: mib(Number(sizes[0].wal)), pkeyMiB: mib(Number(sizes[0].pkey)), tableMiB: mib(Number(sizes[0].heap)) };
}

/** The outbox writer and the consumer's message-id inserts, on the real tables, with `kind` event ids. */
async function measureMessaging(db: Database, kind: Kind, events: number): Promise<Run[]> {
  await dropMessagingTables(db);
  await createMessagingTables(db);
  const outbox = createOutboxWriter();
  const next = kinds[kind];
  const ids: string[] = [];
  await db.raw('checkpoint');
  let started = performance.now();
  let left = events;
  await Promise.all(
    Array.from({ length: config.BENCH_ID_CLIENTS }, async () => {
      while (left-- > 0) {
        const id = next();
        ids.push(id);
        await db.transaction((trx) =>
          outbox.append(trx, {
            type: 'reservation.held',
            key: id,
            id,
            payload: {
              reservationId: id,
              scheduleId: '00000000-0000-4000-8000-000000000001',
              seatNo: 1,
              userId: '00000000-0000-4000-8000-000000000002',
              seatVersion: 1,
              price: 120_000,
              holdExpiresAt: new Date().toISOString(),
            },
          }),
        );
      }
    }),
  );
  const outboxSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  for (let i = 0; i < ids.length; i += 100) {
    await db.transaction((trx) => trx(PROCESSED_TABLE).insert(ids.slice(i, i + 100).map((message_id) => ({ consumer: 'bench', message_id }))).onConflict(['consumer', 'message_id']).ignore());
  }
  const processedSeconds = (performance.now() - started) / 1000;
  const size = async (relation: string) => mib(Number((await db.raw(`select pg_relation_size(?) as n`, [relation])).rows[0].n));
  return [
    { kind, mode: 'outbox', rows: events, seconds: outboxSeconds, walMiB: NaN, pkeyMiB: await size(`${OUTBOX_TABLE}_event_id_unique`), tableMiB: await size(OUTBOX_TABLE) },
    { kind, mode: 'processed', rows: events, seconds: processedSeconds, walMiB: NaN, pkeyMiB: await size(`${PROCESSED_TABLE}_pkey`), tableMiB: await size(PROCESSED_TABLE) },
  ];
}

async function main() {
  const name = `bench_id_keys_${process.pid}`;
  const admin = createDatabase({ url: config.POSTGRES_URL, poolMax: 1 });
  await admin.raw(`create database ${name}`);
  const db = createDatabase({ url: withDatabase(config.POSTGRES_URL, name), poolMax: config.BENCH_ID_CLIENTS });
  const runs: Run[] = [];
  try {
    const { rows: settings } = await db.raw(`select name, current_setting(name) as value from pg_settings where name in ('shared_buffers', 'autovacuum', 'full_page_writes', 'synchronous_commit')`);
    console.log(settings.map((s: { name: string; value: string }) => `${s.name}=${s.value}`).join(' '));
    for (let round = 0; round < config.BENCH_ID_ROUNDS; round++) {
      // Alternate which goes first, so neither always meets a warmer cache.
      const order: Kind[] = round % 2 === 0 ? ['v4', 'v7'] : ['v7', 'v4'];
      for (const kind of order) runs.push(await measure(db, kind, 'batched', config.BENCH_ID_ROWS));
      if (config.BENCH_ID_SINGLE_ROWS > 0) {
        for (const kind of order) runs.push(await measure(db, kind, 'single', config.BENCH_ID_SINGLE_ROWS));
      }
      if (config.BENCH_ID_OUTBOX_ROWS > 0) {
        for (const kind of order) runs.push(...(await measureMessaging(db, kind, config.BENCH_ID_OUTBOX_ROWS)));
      }
    }
  } finally {
    await db.destroy();
    await admin.raw(`drop database if exists ${name}`);
    await admin.destroy();
  }
  // For the outbox, "pkey" is the unique index on event_id; for processed_messages, its (consumer, message_id) key.
  console.log('kind  mode       rows     seconds  rows/s    WAL MiB  key MiB   heap MiB');
  for (const r of runs) {
    console.log(
      [r.kind.padEnd(5), r.mode.padEnd(10), String(r.rows).padEnd(8), r.seconds.toFixed(2).padEnd(8), String(Math.round(r.rows / r.seconds)).padEnd(9), (Number.isNaN(r.walMiB) ? '-' : String(r.walMiB)).padEnd(8), String(r.pkeyMiB).padEnd(9), r.tableMiB].join(' '),
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
