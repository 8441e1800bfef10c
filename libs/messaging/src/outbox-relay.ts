import { createPeriodicJob } from '@ticketing/db';
import { Counter, type Logger, type Registry } from '@ticketing/telemetry';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import pg from 'pg';
import { isBrokerTrouble, sendFailureReason } from './errors';
import { PRODUCER_DEFAULTS } from './kafka';
import { purgePublishedOutbox } from './retention';
import { OUTBOX_CHANNEL, OUTBOX_DEAD_LETTER_TABLE, OUTBOX_TABLE } from './schema';
import { endSpan, startProducerSpan } from './tracing';

export interface OutboxRow {
  id: number;
  topic: string;
  key: string;
  type: string;
  envelope: { id: string };
  trace_context: Record<string, string>;
  /** Failed publishes the row itself caused; a broker outage does not count. */
  attempts: number;
}

export interface OutboxRelayOptions {
  db: Knex;
  /** Connection string for the LISTEN connection (the pool's connections come and go). */
  databaseUrl: string;
  kafka: Kafka;
  logger: Logger;
  /**
   * Fallback poll when nothing wakes the relay (rows of a writer without a local wake-up or NOTIFY, a
   * lost LISTEN connection). A commit in this process wakes it at once, a failed publish wakes it at
   * its retry time, and after a claim that found rows it claims again while rows are due, so the poll
   * mostly decides what an idle relay costs (default 5 s).
   */
  pollIntervalMs?: number;
  batchSize?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * A row whose publish failed this many times for a reason of its own (a topic that does not exist,
   * a message the broker refuses) moves to `outbox_dead_letters` with the reason, so the later rows of
   * its key go on. Failures while the broker is away or in trouble never count: those rows wait.
   */
  maxAttempts?: number;
  /** Where `outbox_dead_lettered_total` is counted (none: not counted). */
  metrics?: Registry;
  /** Published rows are kept this long for inspection, then purged. */
  retentionMs?: number;
  /** How often the relay deletes published rows past retention (every one of them, in batches). */
  purgeIntervalMs?: number;
  /** Rows per delete statement of the purge. */
  purgeBatchSize?: number;
  /**
   * How often the relay vacuums the outbox (0 = never, leave it to autovacuum). Every published row
   * leaves a dead entry in the pending-rows index until a vacuum; without one, each claim wades
   * through all of them (measured: 30,000 dead entries made every claim cost 7–40 ms, most of a
   * saga hop). Autovacuum is off on some servers (these CI machines) and slow to react on busy
   * queue tables on others; a VACUUM of a table this small costs milliseconds.
   */
  vacuumIntervalMs?: number;
  /** Fault-injection seams for tests (e.g. SIGKILL between claim and send, or between send and mark). */
  hooks?: { afterClaim?: (rows: OutboxRow[]) => unknown; afterSend?: (rows: OutboxRow[]) => unknown };
  onPublished?: (rows: OutboxRow[]) => void;
}

export interface OutboxRelay {
  start(): Promise<void>;
  /** Wakes the relay now (e.g. after a local commit); NOTIFY does the same across processes. */
  wake(): void;
  /** Publishes everything committed so far that can go out now (used at shutdown). */
  flush(): Promise<void>;
  /** Stops polling, finishes the batch in flight, flushes once more, disconnects. */
  stop(): Promise<void>;
}

interface BatchOutcome {
  claimed: number;
  published: number;
}

// Claims the oldest due rows that no other relay holds, skipping any row whose key still has an
// older unpublished row outside this claim (held by another relay, or waiting for a retry): that is
// what keeps per-key order with several relays running at once.
const CLAIM_SQL = `
with candidates as (
  select id, key from ${OUTBOX_TABLE}
  where published_at is null and next_attempt_at <= now()
  order by id
  limit ?
  for update skip locked
)
select o.id, o.topic, o.key, o.type, o.envelope, o.trace_context, o.attempts
from ${OUTBOX_TABLE} o join candidates c on c.id = o.id
where not exists (
  select 1 from ${OUTBOX_TABLE} e
  where e.published_at is null and e.key = c.key and e.id < c.id
    and e.id not in (select id from candidates)
)
order by o.id`;

/**
 * Relays committed outbox rows to Kafka: in order per key, with retry and backoff, safe in many
 * instances; a row that keeps failing for a reason of its own goes to `outbox_dead_letters`.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const {
    db,
    kafka,
    logger,
    pollIntervalMs = 5_000,
    batchSize = 500,
    retryBaseMs = 100,
    retryMaxMs = 30_000,
    maxAttempts = 20,
    retentionMs = 60 * 60 * 1000,
    purgeIntervalMs = 60_000,
    purgeBatchSize = 5_000,
    vacuumIntervalMs = 10_000,
    hooks = {},
  } = options;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new RangeError(`maxAttempts must be a whole number >= 1, got ${maxAttempts}`);
  const log = logger.child({ component: 'outbox-relay' });
  const deadLettered = options.metrics
    ? ((options.metrics.getSingleMetric('outbox_dead_lettered_total') as Counter<'topic' | 'reason'> | undefined) ??
      new Counter({
        name: 'outbox_dead_lettered_total',
        help: 'Outbox rows moved to outbox_dead_letters after maxAttempts failed publishes of their own',
        labelNames: ['topic', 'reason'],
        registers: [options.metrics],
      }))
    : undefined;
  /** Batches in a row with a send that failed because the broker was away: such rows back off by this, not by their attempts. */
  let brokerFailures = 0;
  let producer: Producer | undefined;
  let listener: pg.Client | undefined;
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | undefined;
  let pendingWake = false;
  let batchInFlight: Promise<BatchOutcome> | undefined;
  /** When the earliest failed row is due again (it is retried then, not at the next poll). */
  let retryAt: number | undefined;

  const wake = () => {
    pendingWake = true;
    wakeUp?.();
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  async function listen(): Promise<void> {
    if (!running) return;
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'outbox-relay-listen' });
    client.on('notification', wake);
    client.on('error', (error) => {
      log.warn({ err: error }, 'outbox LISTEN connection lost; polling until it is back');
      listener = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => listen().catch(() => undefined), pollIntervalMs);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      listener = client;
      wake(); // rows committed while we were not listening
    } catch (error) {
      log.warn({ err: error }, 'outbox LISTEN failed; retrying');
      await client.end().catch(() => undefined);
      setTimeout(() => listen().catch(() => undefined), pollIntervalMs * 4);
    }
  }

  function backoff(attempts: number): number {
    const ms = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempts, 20));
    return Math.round(ms / 2 + Math.random() * (ms / 2));
  }

  /** Sends rows (at most one per key) in one request; each message carries its own producer span. */
  async function sendTogether(rows: OutboxRow[]): Promise<void> {
    const spans = rows.map((row) => startProducerSpan(row.trace_context, row.topic, row.key));
    const byTopic = new Map<string, Message[]>();
    rows.forEach((row, i) => {
      const message: Message = {
        key: row.key,
        value: JSON.stringify(row.envelope),
        headers: { ...spans[i].headers, 'event-type': row.type, 'event-id': row.envelope.id, 'content-type': 'application/json' },
      };
      const list = byTopic.get(row.topic);
      if (list) list.push(message);
      else byTopic.set(row.topic, [message]);
    });
    try {
      await producer!.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      spans.forEach(({ span }) => endSpan(span));
    } catch (error) {
      spans.forEach(({ span }) => endSpan(span, error));
      throw error;
    }
  }

  /** One claim-send-mark cycle in one transaction; says how many rows it claimed and published. */
  async function publishBatch(): Promise<BatchOutcome> {
    return db.transaction(async (trx) => {
      const { rows } = (await trx.raw(CLAIM_SQL, [batchSize])) as { rows: OutboxRow[] };
      if (rows.length === 0) return { claimed: 0, published: 0 };
      await hooks.afterClaim?.(rows);

      // Waves: the k-th row of a key in this claim goes into wave k. A wave holds each key at most
      // once and goes out in one request; waves go one after another, so each key stays in order,
      // and a key whose row failed sends nothing more in this cycle.
      const waves: OutboxRow[][] = [];
      const seen = new Map<string, number>();
      for (const row of rows) {
        const k = seen.get(row.key) ?? 0;
        seen.set(row.key, k + 1);
        (waves[k] ??= []).push(row);
      }
      const published: OutboxRow[] = [];
      const failed: { row: OutboxRow; error: Error }[] = [];
      const blocked = new Set<string>();
      for (const wave of waves) {
        const ready = wave.filter((row) => !blocked.has(row.key));
        if (ready.length === 0) continue;
        try {
          await sendTogether(ready);
          published.push(...ready);
        } catch (error) {
          // One request carries the whole wave, so one bad row fails them all. Unless the broker
          // itself is in trouble, send each row alone to learn which failed for a reason of its own.
          const alone =
            ready.length > 1 && !isBrokerTrouble(error)
              ? await Promise.allSettled(ready.map((row) => sendTogether([row])))
              : ready.map(() => ({ status: 'rejected', reason: error }) as const);
          alone.forEach((outcome, i) => {
            if (outcome.status === 'fulfilled') return void published.push(ready[i]);
            failed.push({ row: ready[i], error: outcome.reason as Error });
            blocked.add(ready[i].key);
          });
        }
      }
      await hooks.afterSend?.(published);

      if (published.length > 0) {
        brokerFailures = 0;
        await trx(OUTBOX_TABLE)
          .whereIn('id', published.map((r) => r.id))
          .update({ published_at: trx.fn.now(), attempts: trx.raw('attempts + 1'), last_error: null });
      }
      if (failed.some(({ error }) => isBrokerTrouble(error))) brokerFailures += 1;
      for (const { row, error } of failed) {
        const lastError = String(error.message).slice(0, 2000);
        // A broker outage is nobody's row's fault: the row waits, backing off by the outage's length.
        const ownFault = !isBrokerTrouble(error);
        const attempts = ownFault ? row.attempts + 1 : row.attempts;
        const fields = { err: error, outboxId: row.id, topic: row.topic, key: row.key, attempts };
        if (ownFault && attempts >= maxAttempts) {
          await moveToDeadLetters(trx, row, attempts, sendFailureReason(error), lastError);
          deadLettered?.inc({ topic: row.topic, reason: sendFailureReason(error) });
          log.error({ ...fields, reason: sendFailureReason(error) }, 'outbox row moved to outbox_dead_letters; later rows of its key go on');
          continue;
        }
        const delay = backoff(ownFault ? row.attempts : Math.max(row.attempts, brokerFailures - 1));
        retryAt = Math.min(retryAt ?? Infinity, Date.now() + delay);
        log.warn({ ...fields, brokerTrouble: !ownFault, retryInMs: delay }, 'outbox publish failed');
        await trx(OUTBOX_TABLE)
          .where('id', row.id)
          .update({ attempts, last_error: lastError, next_attempt_at: trx.raw(`now() + (? || ' milliseconds')::interval`, [delay]) });
      }
      if (published.length > 0) options.onPublished?.(published);
      return { claimed: rows.length, published: published.length };
    });
  }

  /** Moves a row to the dead letters in the claim's transaction: its key's next row is free to go. */
  async function moveToDeadLetters(trx: Knex.Transaction, row: OutboxRow, attempts: number, reason: string, lastError: string): Promise<void> {
    await trx.raw(
      `insert into ${OUTBOX_DEAD_LETTER_TABLE} (id, event_id, topic, key, type, envelope, trace_context, created_at, attempts, reason, last_error)
       select id, event_id, topic, key, type, envelope, trace_context, created_at, ?, ?, ? from ${OUTBOX_TABLE} where id = ?`,
      [attempts, reason, lastError, row.id],
    );
    await trx(OUTBOX_TABLE).where('id', row.id).delete();
  }

  /** When the earliest failed row (one that failed for its own reason, or waits out a broker outage) is due, by this process's clock. */
  async function nextRetryAt(): Promise<number | undefined> {
    const { rows } = await db.raw(
      `select extract(epoch from min(next_attempt_at) - now()) * 1000 as ms from ${OUTBOX_TABLE} where published_at is null and (attempts > 0 or next_attempt_at > now())`,
    );
    return rows[0]?.ms == null ? undefined : Date.now() + Number(rows[0].ms);
  }

  async function rowsDue(): Promise<boolean> {
    const { rows } = await db.raw(`select exists (select 1 from ${OUTBOX_TABLE} where published_at is null and next_attempt_at <= now()) as due`);
    return rows[0].due === true;
  }

  async function runBatch(): Promise<BatchOutcome> {
    // One batch at a time per relay; flush() and the loop share it.
    while (batchInFlight) await batchInFlight.catch(() => undefined);
    batchInFlight = publishBatch();
    try {
      return await batchInFlight;
    } finally {
      batchInFlight = undefined;
    }
  }

  async function loop(): Promise<void> {
    let failures = 0;
    let lookedDue = false;
    while (running) {
      pendingWake = false;
      try {
        const { claimed } = await runBatch();
        failures = 0;
        // More may be due: rows committed meanwhile (pendingWake), a backlog, or rows of a key that an
        // older row (in another relay's claim, or one just retried) held back until now. A
        // one-statement look decides those, rather than a whole claim transaction.
        if (claimed > 0 && (pendingWake || (await rowsDue()))) continue;
      } catch (error) {
        failures += 1;
        log.error({ err: error }, 'outbox relay batch failed');
        await sleep(backoff(failures));
        continue;
      }
      if (!running) break;
      // A failed row's retry time only moves later (each failure sets a new one from its claim), so the
      // times gathered in this process go stale: while this relay knows of a failed row, it asks after
      // each batch which retry comes next, until none is left.
      if (retryAt !== undefined) {
        retryAt = await nextRetryAt();
        // Due between the claim and this look: claim again now, once (a second miss means another
        // relay holds it, and that relay retries it).
        if (retryAt !== undefined && retryAt <= Date.now()) {
          retryAt = lookedDue ? undefined : retryAt;
          if (!lookedDue) {
            lookedDue = true;
            continue;
          }
        }
      }
      lookedDue = false;
      // Whole milliseconds, rounded up: a timer a fraction early would find the row not yet due.
      const untilRetry = retryAt === undefined ? Infinity : Math.ceil(retryAt - Date.now()) + 1;
      // Not cleared on waking: the next look after the next batch decides whether a retry is still ahead.
      await sleep(Math.max(0, Math.min(pollIntervalMs, untilRetry)));
    }
  }

  const purge = createPeriodicJob({
    name: 'outbox-purge',
    intervalMs: purgeIntervalMs,
    logger,
    run: async (signal) => {
      const deleted = await purgePublishedOutbox(db, { retentionMs, batchSize: purgeBatchSize, signal });
      if (deleted > 0) log.debug({ deleted }, 'purged published outbox rows past retention');
    },
  });

  // VACUUM cannot run in a transaction; several relays vacuuming at once simply wait for each other.
  // It also reclaims the rows the purge deleted.
  const vacuum =
    vacuumIntervalMs > 0
      ? createPeriodicJob({ name: 'outbox-vacuum', intervalMs: vacuumIntervalMs, logger, run: async () => void (await db.raw(`vacuum (analyze) ${OUTBOX_TABLE}`)) })
      : undefined;

  return {
    async start() {
      if (running) return;
      producer = kafka.producer({ ...PRODUCER_DEFAULTS, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 } });
      await producer.connect();
      running = true;
      await listen();
      loopDone = loop();
      purge.start();
      vacuum?.start();
    },
    wake,
    async flush() {
      // Until nothing is due, or a batch sent nothing (the broker is away, or every row due keeps
      // failing): those rows wait for the next start rather than holding up a shutdown.
      for (;;) {
        const { claimed, published } = await runBatch();
        if (claimed === 0 || published === 0) return;
      }
    },
    async stop() {
      if (!running) return;
      running = false;
      await purge.stop();
      await vacuum?.stop();
      wake();
      await loopDone;
      await this.flush().catch((error) => log.warn({ err: error }, 'final outbox flush failed; rows stay for the next start'));
      await listener?.end().catch(() => undefined);
      listener = undefined;
      await producer?.disconnect();
      producer = undefined;
    },
  };
}
