import type { CeilingResult, ScenarioResult } from './report';

/** What bench/results/*.json holds: one run of `npm run bench`. */
export interface BenchRun {
  startedAt: string;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string };
  settings: Record<string, unknown>;
  ceilings: CeilingResult[];
  results: ScenarioResult[];
}

export interface ChartDatum {
  name: string;
  kind: 'scenario' | 'ceiling';
  throughputPerSecond: number | null;
  p99Ms: number | null;
}

const positive = (n: number) => (Number.isFinite(n) && n > 0 ? n : null);

/** One datum per measured row and ceiling; failed ones are left out (the subtitle names them). */
export function chartData(run: BenchRun): ChartDatum[] {
  return [
    ...run.ceilings.filter((c) => !c.failed).map((c): ChartDatum => ({ name: `ceiling: ${c.name}`, kind: 'ceiling', throughputPerSecond: positive(c.throughputPerSecond), p99Ms: positive(c.latencyMs.p99) })),
    ...run.results.filter((r) => !r.failed).map((r): ChartDatum => ({ name: r.scenario, kind: 'scenario', throughputPerSecond: positive(r.throughputPerSecond), p99Ms: positive(r.latencyMs.p99) })),
  ];
}

function panel(field: 'throughputPerSecond' | 'p99Ms', title: string, order: string[]) {
  // Not stacked: a stack starts at 0, which a log scale cannot show.
  const axis = { field, type: 'quantitative', title, scale: { type: 'log' }, stack: null };
  return {
    width: 360,
    height: { step: 18 },
    transform: [{ filter: `datum.${field} != null` }],
    encoding: {
      y: { field: 'name', type: 'nominal', sort: order, title: null, axis: { labelLimit: 240 } },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['scenario', 'ceiling'], range: ['#4c78a8', '#bab0ac'] } },
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { x: axis } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { x: axis, text: { field, type: 'quantitative', format: field === 'p99Ms' ? ',.1f' : ',.0f' } } },
    ],
  };
}

/** A Vega-Lite spec: throughput (ops/s) and p99 (ms) of every row and ceiling of the run, side by side on log scales. */
export function chartSpec(run: BenchRun): Record<string, unknown> {
  const data = chartData(run);
  const order = data.map((d) => d.name);
  const failed = [...run.ceilings.filter((c) => c.failed).map((c) => `ceiling ${c.name}`), ...run.results.filter((r) => r.failed).map((r) => r.scenario)];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `npm run bench, ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
      subtitle: [`${run.machine.cpus} cores, Node ${run.machine.node}; grey bars: ceilings measured in the same run`, ...(failed.length ? [`failed: ${failed.join(', ')}`] : [])],
    },
    data: { values: data },
    hconcat: [panel('throughputPerSecond', 'throughput (ops/s, log)', order), panel('p99Ms', 'p99 latency (ms, log)', order)],
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}
