/**
 * `npm start`: the whole system on this machine. PostgreSQL, Redis and Kafka are reused when
 * they run (and started when they do not), databases, migrations and topics are provisioned,
 * then the five services run with their output prefixed by name until Ctrl-C, which stops the
 * services and exactly the servers this run started.
 *
 * STACK_SERVICE_MAIN replaces apps/<service>/src/main.ts by another script (`{service}` in it is
 * replaced by the service's name); it exists to test this orchestration without the apps.
 */
import { seedDemo } from './seed-demo';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { GATEWAY_OPS, SERVICES, withDatabase, type ServiceName } from '@ticketing/config';
import { ensureKafka } from '../stack/kafka';
import { ensurePostgres, DEFAULT_POSTGRES_URL } from '../stack/postgres';
import { ensureRedis, DEFAULT_REDIS_URL } from '../stack/redis';
import { provisionDatabases } from '../stack/databases';
import { ensureTopics } from '../stack/topics';
import { REPO_ROOT, stackPaths } from '../stack/paths';
import { acquirePidLock, removeFile, terminate } from '../stack/process';
import { ensureWebBuild } from '../stack/web-app';
import { isPortOpen, sleep } from '../stack/wait';

const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;
const KEEP_LINES = 40;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (line: string) => console.log(`${paint(1, '[start]')} ${line}`);
const stackLog = (line: string) => console.log(`${paint(2, '[stack]')} ${line}`);

interface RunningService {
  name: ServiceName;
  port: number;
  child: ChildProcess;
  lastLines: string[];
  exited?: string;
}

class Aborted extends Error {}

const services = new Map<ServiceName, RunningService>();
const servers: { name: string; stop(): Promise<void> }[] = [];
let startup: Promise<void> | undefined;
let stopping: Promise<never> | undefined;
let ready = false;
let releaseLock: () => void = () => undefined;

function portOf(name: ServiceName): number {
  const fromEnv = process.env[SERVICES[name].portVar];
  return fromEnv ? Number(fromEnv) : SERVICES[name].port;
}

/** The gateway's operations port (readiness and metrics are not on its public port). */
function gatewayOpsPort(): number {
  const fromEnv = process.env[GATEWAY_OPS.portVar];
  return fromEnv ? Number(fromEnv) : GATEWAY_OPS.port;
}

/** Where a service answers `/health/ready`: its own port, or the gateway's operations port. */
function readyUrlOf(name: ServiceName): string {
  return `http://127.0.0.1:${name === 'queue-gateway' ? gatewayOpsPort() : portOf(name)}/health/ready`;
}

function mainOf(name: ServiceName): string {
  const override = process.env.STACK_SERVICE_MAIN;
  return override ? override.split('{service}').join(name) : path.join('apps', name, 'src', 'main.ts');
}

function recordServices(): void {
  const entries = [...services.values()].map((s) => ({ name: s.name, pid: s.child.pid, port: s.port, main: mainOf(s.name) }));
  fs.writeFileSync(stackPaths.services, `${JSON.stringify({ startPid: process.pid, services: entries }, null, 2)}\n`);
}

const width = Math.max(...SERVICE_NAMES.map((n) => n.length));
const hues = [36, 35, 33, 32, 34];

function pipeLines(service: RunningService, stream: NodeJS.ReadableStream, toStderr: boolean): void {
  const prefix = paint(hues[SERVICE_NAMES.indexOf(service.name) % hues.length], `${service.name.padEnd(width)} |`);
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    service.lastLines.push(line);
    if (service.lastLines.length > KEEP_LINES) service.lastLines.shift();
    (toStderr ? process.stderr : process.stdout).write(`${prefix} ${line}\n`);
  });
}

function printLastLines(service: RunningService): void {
  const lines = service.lastLines.slice(-20);
  console.error(`${paint(31, `--- last ${lines.length} line(s) of ${service.name} ---`)}`);
  for (const line of lines) console.error(`  ${line}`);
}

/**
 * Extra Node flags for every service, e.g. STACK_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" to profile
 * the stack under a benchmark (Node refuses --cpu-prof in NODE_OPTIONS). Profiles are written when
 * `npm run stop` ends the services.
 */
function nodeArgs(): string[] {
  return (process.env.STACK_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

function spawnService(name: ServiceName, env: NodeJS.ProcessEnv): RunningService {
  const main = mainOf(name);
  if (!fs.existsSync(path.resolve(REPO_ROOT, main))) throw new Error(`${main} does not exist`);
  // Own process group: a Ctrl-C reaches only this script, which stops the services in order.
  const child = spawn(process.execPath, [...nodeArgs(), '--import', 'tsx', main], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const service: RunningService = { name, port: portOf(name), child, lastLines: [] };
  pipeLines(service, child.stdout!, false);
  pipeLines(service, child.stderr!, true);
  child.once('error', (err) => (service.exited = `could not start: ${err.message}`));
  child.once('exit', (code, signal) => {
    service.exited = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (ready && !stopping) {
      say(paint(31, `${name} stopped unexpectedly (${service.exited}); the other services keep running`));
      printLastLines(service);
    }
  });
  return service;
}

async function isReady(service: RunningService): Promise<boolean> {
  try {
    const res = await fetch(readyUrlOf(service.name), { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitReady(service: RunningService): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (stopping) throw new Aborted();
    if (service.exited) {
      printLastLines(service);
      throw new Error(`${service.name} exited during start-up (${service.exited})`);
    }
    if (await isReady(service)) return;
    if (Date.now() > deadline) {
      printLastLines(service);
      throw new Error(`${service.name} did not answer GET ${readyUrlOf(service.name)} with 200 within ${READY_TIMEOUT_MS / 1000} s`);
    }
    await sleep(300);
  }
}

/** Throws when a stop was requested meanwhile, so start-up ends after the current step. */
function checkpoint(): void {
  if (stopping) throw new Aborted();
}

async function run(): Promise<void> {
  const t0 = Date.now();
  const postgresUrl = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;

  say('1/5 PostgreSQL');
  const pg = await ensurePostgres({ url: postgresUrl, log: stackLog });
  if (pg.startedByUs) servers.push({ name: 'PostgreSQL', stop: pg.stop });
  checkpoint();

  say('2/5 Redis');
  // Persisted (append-only file): a Redis restart must not wipe the waiting room.
  const redis = await ensureRedis({ url: redisUrl, log: stackLog, persistent: true });
  if (redis.startedByUs) servers.push({ name: 'Redis', stop: redis.stop });
  checkpoint();

  say('3/5 Kafka');
  const kafka = await ensureKafka({ log: stackLog });
  if (kafka.startedByUs) servers.push({ name: 'Kafka', stop: kafka.stop });
  checkpoint();

  say('4/5 databases, migrations, topics and the web app');
  await provisionDatabases({ postgresUrl, log: stackLog });
  await ensureTopics({ brokers: kafka.brokers, log: stackLog });
  // The gateway serves apps/web/dist at /: built when missing or older than its sources.
  let webApp = 'built';
  await ensureWebBuild({ log: stackLog }).catch((err: Error) => {
    webApp = 'not built';
    say(paint(31, `the web app could not be built (the API works without it): ${err.message}`));
  });
  checkpoint();

  say('5/5 services');
  for (const name of SERVICE_NAMES) {
    const port = portOf(name);
    if (await isPortOpen('127.0.0.1', port)) {
      throw new Error(`port ${port} (${name}, ${SERVICES[name].portVar}) is already in use by another program; free it or set ${SERVICES[name].portVar}`);
    }
  }
  if (await isPortOpen('127.0.0.1', gatewayOpsPort())) {
    throw new Error(`port ${gatewayOpsPort()} (the gateway's operations port, ${GATEWAY_OPS.portVar}) is already in use by another program; free it or set ${GATEWAY_OPS.portVar}`);
  }
  checkpoint(); // the spawn loop below is synchronous: a stop request sees all services or none
  for (const name of SERVICE_NAMES) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      POSTGRES_URL: postgresUrl,
      REDIS_URL: redisUrl,
      KAFKA_BROKERS: kafka.brokers.join(','),
      DATABASE_URL: withDatabase(postgresUrl, SERVICES[name].database),
    };
    services.set(name, spawnService(name, env));
    recordServices();
  }
  await Promise.all([...services.values()].map(waitReady));
  ready = true;
  // Demo concerts and dates, so a new user can try the flow at once (skipped when concerts exist).
  await seedDemo({ gatewayUrl: `http://127.0.0.1:${portOf('queue-gateway')}`, log: say }).catch((err: Error) => say(`demo data not seeded: ${err.message}`));

  const rows = SERVICE_NAMES.map((name) => `  ${name.padEnd(width)}  http://127.0.0.1:${portOf(name)}`);
  const gateway = `http://127.0.0.1:${portOf('queue-gateway')}`;
  console.log(
    [
      '',
      paint(32, `ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`),
      '',
      `  ${paint(1, `web app      ${gateway}/`)}   (open it in a browser: the fans' app${webApp === 'built' ? '' : `; ${webApp}, see above`})`,
      '',
      ...rows,
      '',
      `  gateway      ${gateway}   (the public API entry point; the only port meant for clients)`,
      `  gateway ops  http://127.0.0.1:${gatewayOpsPort()}   (/health/ready, /health/details, /metrics; loopback only)`,
      `  admin key    ${process.env.ADMIN_API_KEY ?? 'dev-admin-key'}   (header X-Admin-Key)`,
      '',
      '  Ctrl-C stops everything (or `npm run stop` from another terminal).',
      '',
    ].join('\n'),
  );
}

/** Stops the services, then the servers this run started, removes the lock, and exits. */
function shutdown(code: number, why: string): Promise<never> {
  if (stopping) return stopping;
  stopping = (async () => {
    say(`${why}: stopping`);
    await Promise.all(
      [...services.values()].map(async (s) => {
        if (s.child.pid === undefined || s.exited) return;
        const how = await terminate(s.child.pid, { timeoutMs: STOP_TIMEOUT_MS, group: true });
        say(`${s.name} ${how === 'killed' ? `killed after ${STOP_TIMEOUT_MS / 1000} s` : 'stopped'}`);
      }),
    );
    // Let a start-up step in progress finish, so that nothing it starts is left behind.
    await startup?.catch(() => undefined);
    for (const server of [...servers].reverse()) {
      await server.stop().catch((err: Error) => say(`could not stop ${server.name}: ${err.message}`));
    }
    removeFile(stackPaths.services);
    releaseLock();
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}

function main(): void {
  const lock = acquirePidLock(stackPaths.startLock, (cmd) => cmd.includes(path.join('infra', 'scripts', 'start.ts')));
  if (!lock.acquired) {
    const gateway = `http://127.0.0.1:${portOf('queue-gateway')}`;
    console.error(`already running (pid ${lock.heldBy}); gateway at ${gateway} — stop it with Ctrl-C there or \`npm run stop\``);
    process.exit(1);
  }
  releaseLock = lock.release;

  // Repeated signals (the terminal and npm both deliver Ctrl-C) are the same request.
  process.on('SIGINT', () => void shutdown(0, 'Ctrl-C'));
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGHUP', () => void shutdown(0, 'SIGHUP'));

  startup = run();
  startup.catch((err: unknown) => {
    if (err instanceof Aborted) return; // a stop was requested; shutdown() is already under way
    console.error(paint(31, `[start] failed: ${(err as Error).message}`));
    void shutdown(1, 'start-up failed');
  });
}

main();
