/**
 * `npm run bench [scenario ...]`: makes sure PostgreSQL, Redis and Kafka answer (reusing running
 * ones, e.g. from `npm start`; starting the missing ones), runs bench/run.ts with the arguments
 * and the servers' addresses in its environment, then stops only what it started.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ensureKafka } from '../stack/kafka';
import { DEFAULT_POSTGRES_URL, ensurePostgres } from '../stack/postgres';
import { DEFAULT_REDIS_URL, ensureRedis } from '../stack/redis';
import { REPO_ROOT } from '../stack/paths';

const say = (line: string) => console.log(`[bench] ${line}`);
const started: { name: string; stop(): Promise<void> }[] = [];
let interrupted = false;
let stopBench: (() => void) | undefined;

// A Ctrl-C reaches the benchmark too (same process group); either signal during the set-up
// skips the run, and what was started is stopped in the end.
process.on('SIGINT', () => void (interrupted = true));
process.on('SIGTERM', () => {
  interrupted = true;
  stopBench?.();
});

async function stopStarted(): Promise<void> {
  for (const s of started.reverse()) await s.stop().catch((err: Error) => say(`could not stop ${s.name}: ${err.message}`));
}

async function main(): Promise<number> {
  const postgresUrl = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const pg = await ensurePostgres({ url: postgresUrl, log: say });
  if (pg.startedByUs) started.push({ name: 'PostgreSQL', stop: pg.stop });
  const redis = await ensureRedis({ url: redisUrl, log: say });
  if (redis.startedByUs) started.push({ name: 'Redis', stop: redis.stop });
  const kafka = await ensureKafka({ log: say });
  if (kafka.startedByUs) started.push({ name: 'Kafka', stop: kafka.stop });
  if (interrupted) return 130;

  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'run.ts'), ...process.argv.slice(2)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, POSTGRES_URL: postgresUrl, REDIS_URL: redisUrl, KAFKA_BROKERS: kafka.brokers.join(',') },
  });
  stopBench = () => child.kill('SIGTERM');
  return new Promise((resolve) => {
    child.once('error', (err) => {
      say(`could not run bench/run.ts: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

main()
  .catch((err: Error) => {
    console.error(`[bench] failed: ${err.message}`);
    return 1;
  })
  .then(async (code) => {
    await stopStarted();
    process.exit(code);
  });
