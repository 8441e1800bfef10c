import { chartData, chartSpec, type BenchRun } from './chart';
import { failedResult, type ScenarioResult } from './report';

const measured = (scenario: string, throughputPerSecond: number, p99: number): ScenarioResult => ({
  scenario,
  target: '',
  targetMet: false,
  operations: 1,
  durationSeconds: 1,
  throughputPerSecond,
  latencyMs: { p50: 1, p99, max: p99 },
  errors: 0,
  checks: [],
});

const run: BenchRun = {
  startedAt: '2026-12-01T09:30:00.000Z',
  machine: { cpus: 2, memoryGiB: 24, node: 'v20.20.2' },
  settings: {},
  ceilings: [
    { name: 'express-hello', what: '', operations: 25_000, durationSeconds: 10, throughputPerSecond: 2_500, latencyMs: { p50: 20, p99: 40, max: 50 } },
    { name: 'pgbench-update', what: '', operations: 0, durationSeconds: 0, throughputPerSecond: NaN, latencyMs: { p50: NaN, p99: NaN, max: NaN }, failed: 'no pgbench' },
  ],
  results: [measured('queue-status', 826, 167), measured('read-model-lag', 0, 38), failedResult('seat-rush', new Error('boom'))],
};

describe('benchmark chart', () => {
  it('charts every measured row and ceiling, leaving out what failed and rates that were not measured', () => {
    expect(chartData(run)).toEqual([
      { name: 'ceiling: express-hello', kind: 'ceiling', throughputPerSecond: 2_500, p99Ms: 40 },
      { name: 'queue-status', kind: 'scenario', throughputPerSecond: 826, p99Ms: 167 },
      { name: 'read-model-lag', kind: 'scenario', throughputPerSecond: null, p99Ms: 38 },
    ]);
  });

  it('is a Vega-Lite spec with a throughput and a p99 panel over the results, naming the failed ones', () => {
    const spec = chartSpec(run) as {
      data: { values: unknown[] };
      hconcat: { transform: { filter: string }[]; layer: { encoding: { x: { field: string; scale: { type: string }; stack: unknown } } }[]; encoding: { y: { sort: string[] } } }[];
      title: { text: string; subtitle: string[] };
    };
    expect(spec.data.values).toEqual(chartData(run));
    expect(spec.hconcat.map((p) => p.layer[0].encoding.x.field)).toEqual(['throughputPerSecond', 'p99Ms']);
    expect(spec.hconcat.every((p) => p.layer[0].encoding.x.scale.type === 'log')).toBe(true);
    // Stacked bars start at 0, which a log scale cannot draw: the bars would have no width.
    expect(spec.hconcat.every((p) => p.layer[0].encoding.x.stack === null)).toBe(true);
    expect(spec.hconcat[0].transform[0].filter).toBe('datum.throughputPerSecond != null');
    expect(spec.hconcat[0].encoding.y.sort).toEqual(['ceiling: express-hello', 'queue-status', 'read-model-lag']);
    expect(spec.title.text).toBe('npm run bench, 2026-12-01 09:30 UTC');
    expect(spec.title.subtitle).toContain('failed: ceiling pgbench-update, seat-rush');
  });
});
