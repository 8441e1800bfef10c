/**
 * `npm run bench [scenario ...]`: makes sure PostgreSQL, Redis and Kafka answer (reusing running
 * ones, e.g. from `npm start`; starting the missing ones), runs bench/run.ts with the arguments
 * and the servers' addresses in its environment, then stops only what it started.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../stack/paths';
import { ensureServers, type Servers } from '../stack/servers';

const say = (line: string) => console.log(`[bench] ${line}`);
let servers: Servers | undefined;
let interrupted = false;
let stopBench: (() => void) | undefined;

// A Ctrl-C reaches the benchmark too (same process group); either signal during the set-up
// skips the run, and what was started is stopped in the end.
process.on('SIGINT', () => void (interrupted = true));
process.on('SIGTERM', () => {
  interrupted = true;
  stopBench?.();
});


async function main(): Promise<number> {
  servers = await ensureServers({ log: say });
  const { postgresUrl, redisUrl, brokers } = servers;
  if (interrupted) return 130;

  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'run.ts'), ...process.argv.slice(2)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, POSTGRES_URL: postgresUrl, REDIS_URL: redisUrl, KAFKA_BROKERS: brokers.join(',') },
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
    await servers?.stop();
    process.exit(code);
  });
