import { childEnvironment, withDatabase } from '@ticketing/config';
import { createDatabase } from '@ticketing/db';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { benchConfig } from './bench-config';
import { processSeconds } from './cpu-meter';
import { createMeasurement } from './load';
import { pgbenchLatenciesMs, pgbenchTps } from './pgbench';
import { CEILINGS, latencySummary, type CeilingName, type CeilingResult } from './report';

/** The seats a pgbench transaction picks from: 40 dates of 50 seats, as in the seat-rush scenario. */
const PGBENCH_SEATS = 2_000;

/** Starts a ceiling's server (bench/fixtures/ceiling-server.ts) and resolves once it prints its port. */
function startCeilingServer(name: CeilingName) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'fixtures', 'ceiling-server.ts')], {
    env: childEnvironment({ CEILING: name, CEILING_KEY: `bench:ceiling:${process.pid}` }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the ${name} server exited with ${code} before listening`)));
  });
  return { child, port, stop: () => (child.kill('SIGTERM'), exited) };
}

/** One HTTP ceiling: its server alone in a process, loaded by autocannon exactly as the scenarios load the gateway. */
async function httpCeiling(name: CeilingName): Promise<CeilingResult> {
  const server = startCeilingServer(name);
  const load = createMeasurement({ drainMs: 0 }); // nothing trails a hello
  try {
    const port = await server.port;
    const before = processSeconds(server.child.pid!);
    await load.run({ url: `http://127.0.0.1:${port}/`, connections: benchConfig.BENCH_CONNECTIONS, duration: benchConfig.BENCH_CEILING_S });
    const after = processSeconds(server.child.pid!);
    const { operations, durationSeconds, throughputPerSecond, latencyMs } = load.summary();
    const errors = load.totals.errors + load.totals.non2xx;
    return {
      name,
      what: CEILINGS[name],
      operations,
      durationSeconds,
      throughputPerSecond,
      latencyMs,
      serverCpuMsPerOp: before !== undefined && after !== undefined && operations > 0 ? ((after - before) * 1_000) / operations : undefined,
      notes: [`autocannon, ${benchConfig.BENCH_CONNECTIONS} connections, ${benchConfig.BENCH_CEILING_S} s${errors ? `; ${errors} errors/non-2xx` : ''}`],
    };
  } finally {
    load.close();
    await server.stop();
  }
}

/**
 * The database's ceiling for a hold: pgbench running the same conditional UPDATE on a versioned seat
 * row, on a scratch database made for it and dropped after, with as many clients as a service's pool.
 */
async function pgbenchCeiling(): Promise<CeilingResult> {
  const database = `bench_ceiling_${Date.now().toString(36)}`;
  const admin = createDatabase({ url: benchConfig.POSTGRES_URL, poolMax: 1 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-pgbench-'));
  const load = createMeasurement();
  try {
    await admin.raw(`create database "${database}"`);
    const db = createDatabase({ url: withDatabase(benchConfig.POSTGRES_URL, database), poolMax: 1 });
    try {
      await db.raw('create table seats (id integer primary key, version integer not null default 0)');
      await db.raw('insert into seats (id) select generate_series(1, ?)', [PGBENCH_SEATS]);
      await db.raw('vacuum analyze seats');
    } finally {
      await db.destroy();
    }
    const script = path.join(dir, 'hold.sql');
    await writeFile(script, `\\set id random(1, ${PGBENCH_SEATS})\nUPDATE seats SET version = version + 1 WHERE id = :id AND version >= 0;\n`);
    const clients = benchConfig.pgbenchClients;
    const args = ['-n', '-f', script, '-c', String(clients), '-j', String(Math.min(clients, os.cpus().length)), '-T', String(Math.ceil(benchConfig.BENCH_CEILING_S)), '-l', `--log-prefix=${path.join(dir, 'tx')}`, withDatabase(benchConfig.POSTGRES_URL, database)];
    const { stdout } = await load.measure(() => promisify(execFile)(benchConfig.BENCH_PGBENCH, args, { cwd: dir, maxBuffer: 16 * 2 ** 20 }));
    const tps = pgbenchTps(stdout);
    if (tps === undefined) throw new Error(`pgbench printed no tps: ${stdout.slice(-300)}`);
    const logs = await Promise.all((await readdir(dir)).filter((f) => f.startsWith('tx')).map((f) => readFile(path.join(dir, f), 'utf8')));
    const latencies = logs.flatMap(pgbenchLatenciesMs);
    const postgres = load.summary(latencies.length).cpu?.msPerOperation.postgres;
    return {
      name: 'pgbench-update',
      what: CEILINGS['pgbench-update'],
      operations: latencies.length,
      durationSeconds: Math.ceil(benchConfig.BENCH_CEILING_S),
      throughputPerSecond: tps,
      latencyMs: latencySummary(latencies),
      serverCpuMsPerOp: postgres,
      notes: [`pgbench, ${clients} clients (a service's pool, DATABASE_POOL_MAX), ${PGBENCH_SEATS} seat rows, simple query protocol; server CPU = PostgreSQL's per transaction`],
    };
  } finally {
    load.close();
    await admin.raw(`drop database if exists "${database}" with (force)`).catch(() => undefined);
    await admin.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every ceiling, one after the other; one that fails is reported failed and the others still run. */
export async function measureCeilings(log: (line: string) => void): Promise<CeilingResult[]> {
  const results: CeilingResult[] = [];
  for (const name of Object.keys(CEILINGS) as CeilingName[]) {
    log(`▶ ceiling ${name}: ${CEILINGS[name]}`);
    try {
      results.push(name === 'pgbench-update' ? await pgbenchCeiling() : await httpCeiling(name));
    } catch (error) {
      results.push({ name, what: CEILINGS[name], operations: 0, durationSeconds: 0, throughputPerSecond: NaN, latencyMs: { p50: NaN, p99: NaN, max: NaN }, failed: (error as Error).message });
    }
  }
  return results;
}
