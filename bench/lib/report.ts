/** What a scenario reports: the same shape in the printed table and in bench/results/*.json. */
export interface Check {
  name: string;
  pass: boolean;
  detail: string;
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
}

export interface Scenario {
  name: string;
  description: string;
  /** One result, or several rows when a scenario measures several things. */
  run(): Promise<ScenarioResult | ScenarioResult[]>;
}

/** Percentiles by nearest rank over all samples (the whole run is kept; no sampling). */
export function latencySummary(samplesMs: number[]): ScenarioResult['latencyMs'] {
  if (samplesMs.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samplesMs).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const round = (n: number) => Math.round(n * 100) / 100;
  return { p50: round(rank(50)), p99: round(rank(99)), max: round(sorted[sorted.length - 1]) };
}

export function formatTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'checks', 'target'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.operations),
    r.throughputPerSecond.toFixed(0),
    r.latencyMs.p50.toFixed(2),
    r.latencyMs.p99.toFixed(2),
    r.latencyMs.max.toFixed(2),
    String(r.errors),
    `${r.checks.filter((c) => c.pass).length}/${r.checks.length} ${r.checks.every((c) => c.pass) ? 'ok' : 'FAILED'}`,
    `${r.target} (${r.targetMet ? 'met' : 'missed'})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  for (const r of results) {
    for (const c of r.checks) out.push(`  ${c.pass ? 'PASS' : 'FAIL'} ${r.scenario}: ${c.name} (${c.detail})`);
    for (const n of r.notes ?? []) out.push(`  note ${r.scenario}: ${n}`);
  }
  return out.join('\n');
}
