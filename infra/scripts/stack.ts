/**
 * `npm run stack`: only the servers (PostgreSQL, Redis, Kafka) with databases, migrations and
 * topics provisioned, for running services by hand (e.g. one under a debugger) or the tests
 * repeatedly without restarting a broker. Runs until Ctrl-C, then stops what it started.
 */
import { provisionDatabases } from '../stack/databases';
import { redactUrl } from '../stack/process';
import { ensureServers, type Servers } from '../stack/servers';
import { ensureTopics } from '../stack/topics';

const say = (line: string) => console.log(`[stack] ${line}`);
let servers: Servers | undefined;
let stopping = false;
let up = false;

async function stopAll(code: number): Promise<never> {
  await servers?.stop();
  process.exit(code);
}

async function main(): Promise<void> {
  // The waiting room must survive a Redis restart, as with npm start.
  servers = await ensureServers({ log: say, persistentRedis: true });
  const { postgresUrl, redisUrl, brokers, started } = servers;
  await provisionDatabases({ postgresUrl, log: say });
  await ensureTopics({ brokers, log: say });

  console.log(
    [
      '',
      'servers ready:',
      `  POSTGRES_URL=${redactUrl(postgresUrl)}`,
      `  REDIS_URL=${redactUrl(redisUrl)}`,
      `  KAFKA_BROKERS=${brokers.join(',')}`,
      started.length > 0 ? `Ctrl-C stops what this started: ${started.join(', ')}.` : 'Everything was already running; Ctrl-C leaves it running.',
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
