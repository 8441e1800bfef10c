/**
 * `npm run stop`: stops what the local stack left running, as recorded in .stack/: a running
 * `npm start` (which then stops its services and the servers it started), services left behind
 * by a start that was killed, and a Kafka broker started by the stack. Idempotent; PostgreSQL
 * and Redis (system services) are left alone. Each pid is checked against its command line
 * first, so a reused pid is never killed.
 *
 * `npm run stop -- --reset` also deletes the local broker's data and logs (.stack/kafka): every
 * topic is gone and the next start is a fresh, fast one (test runs leave many prefixed topics).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stackPaths } from '../stack/paths';
import { commandLine, isAlive, readPidFile, removeFile, terminate } from '../stack/process';
import { isPortOpen } from '../stack/wait';

const say = (line: string) => console.log(`[stop] ${line}`);
let actions = 0;

async function stopStart(): Promise<void> {
  const pid = readPidFile(stackPaths.startLock);
  if (pid === undefined) return;
  if (isAlive(pid) && commandLine(pid).includes(path.join('infra', 'scripts', 'start.ts'))) {
    say(`stopping npm start (pid ${pid}) ...`);
    // It stops its services (10 s max) and the servers it started (the broker takes a few seconds).
    const how = await terminate(pid, { timeoutMs: 45_000 });
    say(how === 'killed' ? `npm start (pid ${pid}) did not stop in 45 s: killed` : `npm start (pid ${pid}) stopped`);
  } else {
    say(`removed a stale start lock (pid ${pid} is not running)`);
  }
  removeFile(stackPaths.startLock);
  actions++;
}

interface RecordedService {
  name: string;
  pid?: number;
  main: string;
}

async function stopServices(): Promise<void> {
  let recorded: RecordedService[];
  try {
    recorded = (JSON.parse(fs.readFileSync(stackPaths.services, 'utf8')) as { services: RecordedService[] }).services;
  } catch {
    return;
  }
  await Promise.all(
    recorded.map(async (s) => {
      if (s.pid === undefined || !isAlive(s.pid) || !commandLine(s.pid).includes(s.main)) return;
      const how = await terminate(s.pid, { timeoutMs: 10_000, group: true });
      say(`${s.name} (pid ${s.pid}) ${how === 'killed' ? 'killed' : 'stopped'}`);
      actions++;
    }),
  );
  removeFile(stackPaths.services);
}

async function stopKafka(): Promise<void> {
  const pid = readPidFile(stackPaths.kafkaPid);
  if (pid !== undefined) {
    const cmd = commandLine(pid);
    if (isAlive(pid) && cmd.includes('kafka.Kafka') && cmd.includes(stackPaths.kafkaProperties)) {
      say(`stopping the Kafka broker (pid ${pid}) ...`);
      const how = await terminate(pid, { timeoutMs: 20_000 });
      say(`Kafka broker (pid ${pid}) ${how === 'killed' ? 'killed after 20 s' : 'stopped'}`);
    } else {
      say(`removed a stale Kafka pid file (pid ${pid} is not our broker)`);
    }
    removeFile(stackPaths.kafkaPid);
    actions++;
  }
  const starter = readPidFile(stackPaths.kafkaStartLock);
  if (starter !== undefined && !isAlive(starter)) {
    removeFile(stackPaths.kafkaStartLock);
    say('removed a stale Kafka start lock');
    actions++;
  }
}

async function resetKafka(): Promise<void> {
  if (await isPortOpen('127.0.0.1', 9092)) {
    throw new Error('a Kafka broker still listens on 127.0.0.1:9092 (not one recorded in .stack/): stop it first; nothing deleted');
  }
  const starter = readPidFile(stackPaths.kafkaStartLock);
  if (starter !== undefined && isAlive(starter)) {
    throw new Error(`another process (pid ${starter}) is starting the Kafka broker right now; try again when it is done`);
  }
  fs.rmSync(stackPaths.kafkaDir, { recursive: true, force: true });
  say('deleted the local Kafka broker\'s data and logs (.stack/kafka)');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--reset');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (only --reset)`);
  await stopStart();
  await stopServices();
  await stopKafka();
  if (actions === 0) say('nothing to stop');
  if (args.includes('--reset')) await resetKafka();
}

main().catch((err: Error) => {
  console.error(`[stop] failed: ${err.message}`);
  process.exit(1);
});
