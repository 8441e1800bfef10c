/**
 * `npm run bench [scenario ...]`: measures the ceilings (bare Node http, express hello, Node + one
 * Redis script, a pgbench conditional UPDATE), then runs the scenarios in bench/scenarios against the
 * running stack (`npm start`), one after the other. A scenario that throws becomes a failed row and the
 * others still run. Prints one table with each row's ratio to its ceiling and the CPU per operation of
 * every process of the stack, and writes the same as JSON and an SVG chart under bench/results/ (after
 * every scenario, so an interrupted run keeps what it measured). A run of every scenario also updates
 * bench/results/latest.json and latest.svg, the copy the README shows.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES } from '@ticketing/config';
import Redis from 'ioredis';
import { isPortOpen } from '../infra/stack/wait';
import { benchConfig } from './lib/bench-config';
import { measureCeilings } from './lib/ceilings';
import { chartSpec, type BenchRun } from './lib/chart';
import { CPU_PROCESSES, LOAD_GENERATOR } from './lib/cpu-meter';
import { allRoomCounts } from './lib/fans';
import { renderSvg } from './lib/render-chart';
import { failedResult, formatCeilings, formatCpuTable, formatTable, judgeAgainstCeilings, selectScenarios, type Scenario, type ScenarioResult } from './lib/report';

const STACK_PROCESSES = CPU_PROCESSES.filter((p) => p !== LOAD_GENERATOR);
const resultsDir = path.join(__dirname, 'results');

function withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still running after ${seconds} s (BENCH_SCENARIO_TIMEOUT_S)`)), seconds * 1_000)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** How many fans the waiting rooms hold: a scenario leaves none behind in its concert's room (if it cleaned up after itself). */
async function roomState(redis: Redis): Promise<string> {
  const { rooms, preQueue, waiting, active } = await allRoomCounts(redis);
  return `${waiting} waiting, ${active} active, ${preQueue} in pre-queues, over ${rooms} rooms`;
}

/** What of the stack does not answer (the broker and PostgreSQL are shared: someone may have stopped them). */
async function missingFromStack(): Promise<string[]> {
  const servers = [...benchConfig.KAFKA_BROKERS.map((b) => ({ name: `kafka ${b}`, url: `tcp://${b}` })), { name: 'postgres', url: benchConfig.POSTGRES_URL }, { name: 'redis', url: benchConfig.REDIS_URL }];
  const down = await Promise.all(
    servers.map(async ({ name, url }) => {
      const { hostname, port } = new URL(url);
      return (await isPortOpen(hostname, Number(port))) ? [] : [name];
    }),
  );
  const services = await Promise.all(
    SERVICE_NAMES.map(async (name) => ((await fetch(benchConfig.metricsUrls[name], { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false)) ? [] : [name])),
  );
  return [...down.flat(), ...services.flat()];
}

async function loadScenarios(wanted: string[]): Promise<Scenario[]> {
  const dir = path.join(__dirname, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.scenario.ts')).sort();
  const all: Scenario[] = [];
  for (const file of files) all.push(((await import(path.join(dir, file))) as { scenario: Scenario }).scenario);
  const scenarios = selectScenarios(all, wanted);
  if (scenarios.length === 0) throw new Error(`no scenario matches ${wanted.join(', ')}; have ${files.join(', ')}`);
  return scenarios;
}

async function main() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const scenarios = await loadScenarios(wanted);
  const startedAt = new Date().toISOString();
  const run: BenchRun = {
    startedAt,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    settings: {
      scenarios: scenarios.map((s) => s.name),
      maxActive: benchConfig.BENCH_MAX_ACTIVE,
      activeMinutes: benchConfig.BENCH_ACTIVE_MINUTES,
      waveFans: benchConfig.waveFans,
      connections: benchConfig.BENCH_CONNECTIONS,
      ceilingSeconds: benchConfig.BENCH_CEILING_S,
      pgbenchClients: benchConfig.pgbenchClients,
    },
    ceilings: [],
    results: [],
  };
  mkdirSync(resultsDir, { recursive: true });
  const base = path.join(resultsDir, startedAt.replace(/[:.]/g, '-'));
  const judged = () => ({ ...run, results: run.results.map((r) => judgeAgainstCeilings(r, run.ceilings)) });
  const save = () => writeFileSync(`${base}.json`, `${JSON.stringify(judged(), null, 2)}\n`);

  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    const final = judged();
    save();
    console.log(`\n${formatTable(final.results, { stackProcesses: STACK_PROCESSES })}`);
    console.log(`\nCPU milliseconds per operation by process, over each row's measured phase (stack = all but ${LOAD_GENERATOR}, the benchmark's own process):\n${formatCpuTable(final.results, CPU_PROCESSES, STACK_PROCESSES)}`);
    if (final.ceilings.length) console.log(`\nCeilings, same run, same load generator:\n${formatCeilings(final.ceilings)}`);
    const written = [`${base}.json`];
    try {
      const svg = await renderSvg(chartSpec(final));
      writeFileSync(`${base}.svg`, svg);
      written.push(`${base}.svg`);
      if (wanted.length === 0) {
        writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(final, null, 2)}\n`);
        writeFileSync(path.join(resultsDir, 'latest.svg'), svg);
        written.push(path.join(resultsDir, 'latest.{json,svg}'));
      }
    } catch (error) {
      console.error(`could not draw the chart: ${(error as Error).message}`);
    }
    console.log(`\nresults written to ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    // A benchmark reports; it does not fail on a timing. It fails when a correctness check fails or a scenario could not run.
    const broken = final.results.flatMap((r) => (r.failed ? [`${r.scenario}: FAILED ${r.failed}`] : r.checks.filter((c) => !c.pass).map((c) => `${r.scenario}: ${c.name}`)));
    if (broken.length) {
      console.error(`correctness checks failed or scenarios could not run: ${broken.join('; ')}`);
      process.exitCode = 1;
    }
  };
  // Ctrl-C (or the runner's SIGTERM) still prints and writes what was measured so far.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish().finally(() => process.exit(130)));

  if (benchConfig.BENCH_CEILINGS) {
    run.ceilings = await measureCeilings((line) => console.log(line));
    save();
  }
  const redis = new Redis(benchConfig.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    // Each scenario sells its own concerts (a sale of BENCH_MAX_ACTIVE slots each); the other rooms are the demo's and earlier runs'.
    console.log(`waiting rooms before the scenarios: ${await roomState(redis).catch((error: Error) => `unknown (${error.message})`)}`);
    for (const s of scenarios) {
      console.log(`▶ ${s.name}: ${s.description}`);
      const missing = await missingFromStack();
      if (missing.length) console.log(`  not answering at the start: ${missing.join(', ')}`);
      const t0 = Date.now();
      let rows: ScenarioResult[];
      try {
        const outcome = await withTimeout(s.run(), benchConfig.BENCH_SCENARIO_TIMEOUT_S, s.name);
        rows = Array.isArray(outcome) ? outcome : [outcome];
      } catch (error) {
        console.error(`  ${s.name} failed: ${(error as Error).stack ?? error}`);
        rows = [failedResult(s.name, error)];
      }
      if (missing.length) rows = rows.map((r) => ({ ...r, notes: [...(r.notes ?? []), `not answering when the scenario started: ${missing.join(', ')}`] }));
      run.results.push(...rows);
      save();
      const room = await roomState(redis).catch((error: Error) => `unknown (${error.message})`);
      console.log(`  ${s.name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${rows.map((r) => (r.failed ? `${r.scenario} FAILED` : `${r.scenario} ${r.throughputPerSecond.toFixed(0)}/s p99 ${r.latencyMs.p99} ms`)).join('; ')}; waiting rooms after it: ${room}`);
    }
  } finally {
    redis.disconnect();
  }
  await finish();
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  // Scenarios may leave sockets (keep-alive agents) open; the run is over.
  .finally(() => process.exit());
