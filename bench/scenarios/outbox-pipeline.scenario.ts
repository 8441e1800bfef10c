import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { commonSchema, loadConfig, withDatabase } from '@ticketing/config';
import { allTopics } from '@ticketing/contracts';
import { createDatabase } from '@ticketing/db';
import { createKafka, createMessagingTables, createOutboxRelay, createOutboxWriter, createTopics } from '@ticketing/messaging';
import { createLogger } from '@ticketing/telemetry';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { cpuReport } from '../lib/cpu';
import { createCpuMeter } from '../lib/cpu-meter';
import { latencySummary, type Scenario } from '../lib/report';

const config = loadConfig(
  commonSchema.extend({
    BENCH_RATE: z.coerce.number().int().min(1).default(1000),
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_WARMUP_S: z.coerce.number().min(0).default(2),
  }),
);
const now = () => performance.timeOrigin + performance.now();
const KEYS = 200;

function startConsumerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../fixtures/consumer-process.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => out.includes('ready') && (clearInterval(timer), resolve()), 20);
    child.once('exit', (code) => (clearInterval(timer), reject(new Error(`consumer exited with ${code}`))));
  });
  const finished = new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
  return { child, ready, finished };
}

/**
 * Commit → consumer effect through the real pipeline: a writing service commits one event per
 * transaction at a fixed rate (open loop) and relays them to Kafka; a consumer process (another
 * service) applies each event in its own transaction. Latency = effect committed − business
 * transaction committed.
 */
export const scenario: Scenario = {
  name: 'outbox-pipeline',
  description: 'outbox → Kafka → idempotent consumer, commit-to-effect latency',
  async run() {
    const tag = `bench_${Date.now().toString(36)}`;
    const prefix = `${tag}.`;
    const admin = createDatabase({ url: config.POSTGRES_URL, poolMax: 1 });
    await admin.raw(`create database "${tag}"`);
    await admin.destroy();
    const url = withDatabase(config.POSTGRES_URL, tag);
    const db = createDatabase({ url, poolMax: 20 });
    const kafka = new Kafka({ clientId: 'bench', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const topics = allTopics(prefix).filter((t) => t.name.includes('reservation.held'));
    try {
      await createMessagingTables(db);
      await db.schema.createTable('effects', (t) => {
        t.bigIncrements('id');
        t.uuid('event_id').notNullable();
        t.text('key').notNullable();
        t.integer('seq').notNullable();
      });
      await createTopics(kafkaAdmin, topics);

      const consumer = startConsumerProcess({ BENCH_DATABASE_URL: url, TOPIC_PREFIX: prefix });
      // The writing "service" runs its own relay, woken in-process at each commit, as the apps do.
      const logger = createLogger('bench-writer', 'warn');
      const relay = createOutboxRelay({
        db: createDatabase({ url, poolMax: 4 }),
        databaseUrl: url,
        kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'bench-relay', logger }),
        logger,
        pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
        batchSize: config.OUTBOX_BATCH_SIZE,
      });
      await Promise.all([consumer.ready, relay.start()]);
      await new Promise((r) => setTimeout(r, 1_000)); // consumer group settles

      const outbox = createOutboxWriter({ topicPrefix: prefix, onCommitted: relay.wake });
      const keys = Array.from({ length: KEYS }, () => randomUUID());
      const seqs = new Map<string, number>();
      // A key's writes commit one after another, as writes to one aggregate row would (row lock).
      const lastWrite = new Map<string, Promise<void>>();
      const committedAt = new Map<string, number>();
      const measureFrom = now() + config.BENCH_WARMUP_S * 1000;
      const total = Math.round(config.BENCH_RATE * (config.BENCH_DURATION_S + config.BENCH_WARMUP_S));
      let errors = 0;
      let issued = 0;
      let writeSeconds = 0;
      let effects = 0;
      const inFlight = new Set<Promise<void>>();
      const meter = createCpuMeter();
      await meter.measure(async () => {
        const start = now();
        // Open loop: issue on schedule whatever the latency, so a slow pipeline shows up as latency.
        while (issued < total) {
          const due = Math.min(total, Math.floor(((now() - start) / 1000) * config.BENCH_RATE));
          for (; issued < due; issued++) {
            const key = keys[issued % KEYS];
            const seq = (seqs.get(key) ?? 0) + 1;
            seqs.set(key, seq);
            const p = (lastWrite.get(key) ?? Promise.resolve())
              .then(() => db.transaction((trx) =>
                outbox.append(trx, {
                  type: 'reservation.held',
                  key,
                  payload: {
                    reservationId: key,
                    scheduleId: key,
                    seatNo: 1,
                    userId: key,
                    seatVersion: seq,
                    price: 1000,
                    holdExpiresAt: new Date(Date.now() + 300_000).toISOString(),
                  },
                }),
              ))
              .then(([event]) => void committedAt.set(event.id, now()))
              .catch(() => void errors++)
              .finally(() => inFlight.delete(p));
            inFlight.add(p);
            lastWrite.set(key, p);
          }
          await new Promise((r) => setTimeout(r, 2));
        }
        await Promise.all(inFlight);
        writeSeconds = (now() - start) / 1000;

        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          effects = Number((await db('effects').count({ n: '*' }).first())?.n);
          if (effects >= committedAt.size) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }).finally(() => meter.close());
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show now
      await relay.stop();
      consumer.child.kill('SIGTERM');
      const out = await consumer.finished;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      const { applied } = JSON.parse(line?.slice(7) ?? '{"applied":[]}') as { applied: [string, number][] };

      const latencies: number[] = [];
      for (const [id, at] of applied) {
        const t0 = committedAt.get(id);
        if (t0 !== undefined && t0 >= measureFrom) latencies.push(at - t0);
      }
      const distinct = Number((await db('effects').countDistinct({ n: 'event_id' }).first())?.n);
      const rows: { key: string; seq: number }[] = await db('effects').select('key', 'seq').orderBy('id');
      const lastSeq = new Map<string, number>();
      let outOfOrder = 0;
      for (const r of rows) {
        if ((lastSeq.get(r.key) ?? 0) >= r.seq) outOfOrder++;
        lastSeq.set(r.key, r.seq);
      }
      const pending = Number((await db('outbox').whereNull('published_at').count({ n: '*' }).first())?.n);
      const latency = latencySummary(latencies);
      return {
        scenario: 'outbox-pipeline',
        target: `p99 <= 50 ms at ${config.BENCH_RATE}/s`,
        targetMet: latency.p99 <= 50 && committedAt.size / writeSeconds >= config.BENCH_RATE * 0.95,
        operations: committedAt.size,
        durationSeconds: Math.round(writeSeconds * 10) / 10,
        throughputPerSecond: committedAt.size / writeSeconds,
        latencyMs: latency,
        errors,
        checks: [
          { name: 'every committed event applied', pass: effects === committedAt.size, detail: `${effects}/${committedAt.size}` },
          { name: 'applied exactly once', pass: distinct === effects, detail: `${distinct} distinct of ${effects}` },
          { name: 'per-key order', pass: outOfOrder === 0, detail: `${outOfOrder} out of order over ${KEYS} keys` },
          { name: 'outbox drained', pass: pending === 0, detail: `${pending} unpublished` },
        ],
        // No ceiling: the rate is the one asked (open loop), not what the pipeline could reach.
        cpu: cpuReport(meter.used, committedAt.size),
        notes: [
          `latency over ${latencies.length} events after a ${config.BENCH_WARMUP_S} s warm-up; ${errors} failed commits`,
          'CPU over the writes and the drain: the writing service and its relay are the load-gen column; the consumer process is not a process of the stack and is not counted',
        ],
      };
    } finally {
      await db.destroy();
      await kafkaAdmin.deleteTopics({ topics: topics.map((t) => t.name) }).catch(() => undefined);
      await kafkaAdmin.disconnect();
      const cleanup = createDatabase({ url: config.POSTGRES_URL, poolMax: 1 });
      await cleanup.raw(`drop database if exists "${tag}" with (force)`).catch(() => undefined);
      await cleanup.destroy();
    }
  },
};
