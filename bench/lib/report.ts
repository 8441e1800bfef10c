/** What a scenario reports: the same shape in the printed table and in bench/results/*.json. */
import type { CpuSeconds } from './cpu';

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

/** The reference points measured in the same run: what the machine does with (almost) nothing to do per request. */
export const CEILINGS = {
  'node-http': 'bare Node http: 200 "hello"',
  'express-hello': 'express: GET / → "hello"',
  'node-redis': 'bare Node http + one Redis EVALSHA per request',
  'pgbench-update': 'pgbench: UPDATE seats SET version = version + 1 WHERE id = :id AND version >= 0',
} as const;
export type CeilingName = keyof typeof CEILINGS;

export interface CeilingResult {
  name: CeilingName;
  what: string;
  operations: number;
  durationSeconds: number;
  throughputPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** The ceiling server's own CPU per request (PostgreSQL's per transaction for pgbench). */
  serverCpuMsPerOp?: number;
  notes?: string[];
  failed?: string;
}

export interface ScenarioResult {
  scenario: string;
  target: string;
  /** Whether the issue's target was met; reported, never a failure (these machines are noisy). */
  targetMet: boolean;
  operations: number;
  durationSeconds: number;
  throughputPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  errors: number;
  checks: Check[];
  notes?: string[];
  /** The ceiling this row's throughput is compared with. */
  ceiling?: CeilingName;
  /** Part of the target: throughput at least this share of the ceiling's (judged by the runner, which has the ceilings). */
  targetRatio?: number;
  /** Part of the target: at most `max` CPU ms per operation summed over `processes`. */
  targetCpuMs?: { processes: string[]; max: number };
  /** Filled in by the runner: throughput ÷ each relevant ceiling's. */
  ratios?: Partial<Record<CeilingName, number>>;
  /** CPU over the measured phase: seconds and milliseconds per operation, by process of the stack. */
  cpu?: { seconds: CpuSeconds; msPerOperation: CpuSeconds };
  /** The scenario threw: its error, and the row carries no measurement. */
  failed?: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** Run only when named (`npm run bench soak`), never in a run of every scenario (it takes too long). */
  manual?: boolean;
  /** One result, or several rows when a scenario measures several things. */
  run(): Promise<ScenarioResult | ScenarioResult[]>;
}

/** The scenarios a run asks for: the named ones, or with no names every scenario but the manual ones. */
export function selectScenarios<S extends Pick<Scenario, 'name' | 'manual'>>(all: S[], wanted: string[]): S[] {
  return all.filter((s) => (wanted.length === 0 ? !s.manual : wanted.includes(s.name)));
}

/** Percentiles by nearest rank over all samples (the whole run is kept; no sampling). */
export function latencySummary(samplesMs: number[]): ScenarioResult['latencyMs'] {
  if (samplesMs.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samplesMs).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const round = (n: number) => Math.round(n * 100) / 100;
  return { p50: round(rank(50)), p99: round(rank(99)), max: round(sorted[sorted.length - 1]) };
}

/** The row of a scenario that threw: marked failed with its error, so the run and its table go on. */
export function failedResult(scenario: string, error: unknown): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    scenario,
    target: '',
    targetMet: false,
    operations: 0,
    durationSeconds: 0,
    throughputPerSecond: NaN,
    latencyMs: { p50: NaN, p99: NaN, max: NaN },
    errors: 0,
    checks: [],
    failed: message.split('\n')[0].slice(0, 300),
  };
}

/**
 * The row's throughput against the ceiling it is compared with; HTTP rows compared with express
 * are shown against bare Node http too. A ceiling that failed or measured nothing gives no ratio.
 */
export function ratiosFor(row: ScenarioResult, ceilings: CeilingResult[]): Partial<Record<CeilingName, number>> {
  if (!row.ceiling || row.failed || !(row.throughputPerSecond > 0)) return {};
  const wanted: CeilingName[] = row.ceiling === 'express-hello' ? ['express-hello', 'node-http'] : [row.ceiling];
  const ratios: Partial<Record<CeilingName, number>> = {};
  for (const name of wanted) {
    const ceiling = ceilings.find((c) => c.name === name && !c.failed);
    if (ceiling && ceiling.throughputPerSecond > 0) ratios[name] = row.throughputPerSecond / ceiling.throughputPerSecond;
  }
  return ratios;
}

/**
 * The row with its ratios to the ceilings and its target judged in full: the scenario's own part
 * (latency, correctness) and the parts that need this run's ceilings and CPU readings. A part that
 * could not be measured (no ceiling, a process not read) counts as missed.
 */
export function judgeAgainstCeilings(row: ScenarioResult, ceilings: CeilingResult[]): ScenarioResult {
  if (row.failed) return row;
  const ratios = ratiosFor(row, ceilings);
  let met = row.targetMet;
  if (row.targetRatio !== undefined) {
    const ratio = row.ceiling ? ratios[row.ceiling] : undefined;
    met &&= ratio !== undefined && ratio >= row.targetRatio;
  }
  if (row.targetCpuMs) {
    const per = row.cpu?.msPerOperation ?? {};
    const { processes, max } = row.targetCpuMs;
    met &&= processes.every((p) => per[p] !== undefined) && processes.reduce((sum, p) => sum + per[p], 0) <= max;
  }
  return { ...row, ratios, targetMet: met };
}

/** Short column names: `queue-gateway` → `gateway`, `concert-catalog` → `catalog`. */
export const processLabel = (name: string) => name.replace(/^(queue|concert)-/, '');

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
/** CPU ms per operation with enough digits for both a 0.05 ms poll and a 40 ms checkout. */
export const formatMs = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3));

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

/** The stack's CPU per operation: the sum over the processes of the stack that were measured. */
export function stackMs(perOperation: CpuSeconds | undefined, stackProcesses: readonly string[]): number | undefined {
  if (!perOperation) return undefined;
  const measured = stackProcesses.filter((p) => perOperation[p] !== undefined);
  return measured.length ? measured.reduce((s, p) => s + perOperation[p], 0) : undefined;
}

/** A ratio readable at both ends: 0.42×, and 0.0061× for a checkout against a database ceiling. */
export const formatRatio = (ratio: number) => `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;

function ratioCell(r: ScenarioResult): string {
  return Object.entries(r.ratios ?? {})
    .map(([name, ratio]) => `${formatRatio(ratio)} ${name}`)
    .join(', ') || '-';
}

/** The main table (one row per measurement, failed scenarios included), then each check and note. */
export function formatTable(results: ScenarioResult[], { stackProcesses = [] as readonly string[] } = {}): string {
  const header = ['scenario', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'checks', 'vs ceiling', 'stack CPU ms/op', 'target'];
  const rows = results.map((r) => {
    if (r.failed) return [r.scenario, '-', '-', '-', '-', '-', '-', 'FAILED', '-', '-', `FAILED: ${r.failed}`];
    return [
      r.scenario,
      String(r.operations),
      fixed(r.throughputPerSecond, 0),
      fixed(r.latencyMs.p50, 2),
      fixed(r.latencyMs.p99, 2),
      fixed(r.latencyMs.max, 2),
      String(r.errors),
      `${r.checks.filter((c) => c.pass).length}/${r.checks.length} ${r.checks.every((c) => c.pass) ? 'ok' : 'FAILED'}`,
      ratioCell(r),
      formatMs(stackMs(r.cpu?.msPerOperation, stackProcesses)),
      `${r.target} (${r.targetMet ? 'met' : 'missed'})`,
    ];
  });
  const out = table(header, rows);
  for (const r of results) {
    if (r.failed) out.push(`  FAILED ${r.scenario}: ${r.failed}`);
    for (const c of r.checks) out.push(`  ${c.pass ? 'PASS' : 'FAIL'} ${r.scenario}: ${c.name} (${c.detail})`);
    for (const n of r.notes ?? []) out.push(`  note ${r.scenario}: ${n}`);
  }
  return out.join('\n');
}

/** CPU milliseconds per operation, one column per process of the stack ('-' where it was not measured). */
export function formatCpuTable(results: ScenarioResult[], processes: readonly string[], stackProcesses: readonly string[]): string {
  const header = ['CPU ms/op', ...processes.map(processLabel), 'stack'];
  const rows = results
    .filter((r) => !r.failed)
    .map((r) => {
      const per = r.cpu?.msPerOperation ?? {};
      return [r.scenario, ...processes.map((p) => formatMs(per[p])), formatMs(stackMs(r.cpu?.msPerOperation, stackProcesses))];
    });
  return table(header, rows).join('\n');
}

export function formatCeilings(ceilings: CeilingResult[]): string {
  const header = ['ceiling', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU ms/op', 'what'];
  const rows = ceilings.map((c) =>
    c.failed
      ? [c.name, '-', '-', '-', '-', `FAILED: ${c.failed}`]
      : [c.name, fixed(c.throughputPerSecond, 0), fixed(c.latencyMs.p50, 2), fixed(c.latencyMs.p99, 2), formatMs(c.serverCpuMsPerOp), c.what],
  );
  const out = table(header, rows);
  for (const c of ceilings) for (const n of c.notes ?? []) out.push(`  note ${c.name}: ${n}`);
  return out.join('\n');
}
