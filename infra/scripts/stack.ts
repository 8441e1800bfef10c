/**
 * `npm run stack`: only the servers (PostgreSQL, Redis, Kafka) with databases, migrations and
 * topics provisioned, for running services by hand (e.g. one under a debugger) or the tests
 * repeatedly without restarting a broker. Runs until Ctrl-C, then stops what it started.
 */
import { provisionDatabases } from '../stack/databases';
import { ensureKafka } from '../stack/kafka';
import { DEFAULT_POSTGRES_URL, ensurePostgres } from '../stack/postgres';
import { redactUrl } from '../stack/process';
import { DEFAULT_REDIS_URL, ensureRedis } from '../stack/redis';
import { ensureTopics } from '../stack/topics';

const say = (line: string) => console.log(`[stack] ${line}`);
const started: { name: string; stop(): Promise<void> }[] = [];
let stopping = false;
let up = false;

async function stopAll(code: number): Promise<never> {
  for (const s of started.reverse()) await s.stop().catch((err: Error) => say(`could not stop ${s.name}: ${err.message}`));
  process.exit(code);
}

async function main(): Promise<void> {
  const postgresUrl = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const pg = await ensurePostgres({ url: postgresUrl, log: say });
  if (pg.startedByUs) started.push({ name: 'PostgreSQL', stop: pg.stop });
  const redis = await ensureRedis({ url: redisUrl, log: say });
  if (redis.startedByUs) started.push({ name: 'Redis', stop: redis.stop });
  const kafka = await ensureKafka({ log: say });
  if (kafka.startedByUs) started.push({ name: 'Kafka', stop: kafka.stop });
  await provisionDatabases({ postgresUrl, log: say });
  await ensureTopics({ brokers: kafka.brokers, log: say });

  console.log(
    [
      '',
      'servers ready:',
      `  POSTGRES_URL=${redactUrl(postgresUrl)}`,
      `  REDIS_URL=${redactUrl(redisUrl)}`,
      `  KAFKA_BROKERS=${kafka.brokers.join(',')}`,
      started.length > 0 ? `Ctrl-C stops what this started: ${started.map((s) => s.name).join(', ')}.` : 'Everything was already running; Ctrl-C leaves it running.',
      '',
    ].join('\n'),
  );
  up = true;
  if (stopping) await stopAll(0);
  setInterval(() => undefined, 1 << 30); // stay up until a signal
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    if (up) {
      say(`${signal}: stopping`);
      void stopAll(0);
    } else {
      say(`${signal}: stopping once the current step is done`);
    }
  });
}

main().catch(async (err: Error) => {
  console.error(`[stack] failed: ${err.message}`);
  await stopAll(1);
});
