import { failedResult, formatCeilings, formatCpuTable, formatTable, judgeAgainstCeilings, latencySummary, ratiosFor, selectScenarios, stackMs, type CeilingResult, type ScenarioResult } from './report';

const row = (overrides: Partial<ScenarioResult> = {}): ScenarioResult => ({
  scenario: 's',
  target: 't',
  targetMet: true,
  operations: 1_000,
  durationSeconds: 10,
  throughputPerSecond: 100,
  latencyMs: { p50: 1, p99: 2, max: 3 },
  errors: 0,
  checks: [],
  ...overrides,
});
const ceiling = (name: CeilingResult['name'], throughputPerSecond: number, overrides: Partial<CeilingResult> = {}): CeilingResult => ({
  name,
  what: name,
  operations: throughputPerSecond * 10,
  durationSeconds: 10,
  throughputPerSecond,
  latencyMs: { p50: 1, p99: 2, max: 3 },
  ...overrides,
});
const ceilings = [ceiling('node-http', 10_000), ceiling('express-hello', 2_500), ceiling('node-redis', 7_000), ceiling('pgbench-update', 5_000)];

describe('benchmark report', () => {
  it('computes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(latencySummary(samples)).toEqual({ p50: 50, p99: 99, max: 100 });
    expect(latencySummary([7])).toEqual({ p50: 7, p99: 7, max: 7 });
  });

  it('marks a scenario whose checks fail', () => {
    const table = formatTable([row({ targetMet: false, checks: [{ name: 'exactly once', pass: false, detail: '2 effects for 1 event' }] })]);
    expect(table).toMatch(/0\/1 FAILED/);
    expect(table).toMatch(/FAIL s: exactly once/);
  });

  it('turns a scenario that threw into a failed row with its first error line, shown in the table beside the rows that ran', () => {
    const failed = failedResult('seat-rush', new Error('only 300 of 400 fans were admitted\n    at untilAdmitted (fans.ts:1)'));
    expect(failed).toMatchObject({ scenario: 'seat-rush', failed: 'only 300 of 400 fans were admitted', operations: 0, targetMet: false, checks: [] });
    expect(failedResult('x', 'plain string').failed).toBe('plain string');
    const table = formatTable([row({ scenario: 'checkout' }), failed]);
    const lines = table.split('\n');
    expect(lines.find((l) => l.startsWith('| seat-rush'))).toMatch(/\| FAILED +\|.*FAILED: only 300 of 400 fans were admitted/);
    expect(lines.find((l) => l.startsWith('| checkout'))).toMatch(/\| 1000 +\| 100 +\|/);
    expect(table).toMatch(/^ {2}FAILED seat-rush: only 300 of 400 fans/m);
    // A failed row has nothing to compare or chart.
    expect(ratiosFor({ ...failed, ceiling: 'express-hello' }, ceilings)).toEqual({});
    expect(formatCpuTable([failed], ['queue-gateway'], ['queue-gateway'])).not.toMatch(/seat-rush/);
  });

  it("divides a row's throughput by its ceiling's; HTTP rows compared with express are also shown against bare Node http", () => {
    expect(ratiosFor(row({ throughputPerSecond: 1_000, ceiling: 'express-hello' }), ceilings)).toEqual({ 'express-hello': 0.4, 'node-http': 0.1 });
    expect(ratiosFor(row({ throughputPerSecond: 50, ceiling: 'pgbench-update' }), ceilings)).toEqual({ 'pgbench-update': 0.01 });
    expect(ratiosFor(row({ ceiling: undefined }), ceilings)).toEqual({});
    // No ratio against a ceiling that failed or is missing, nor for a row that measured no rate.
    expect(ratiosFor(row({ ceiling: 'express-hello' }), [ceiling('express-hello', 2_500, { failed: 'boom' })])).toEqual({});
    expect(ratiosFor(row({ throughputPerSecond: 0, ceiling: 'pgbench-update' }), ceilings)).toEqual({});
    expect(formatTable([judgeAgainstCeilings(row({ throughputPerSecond: 1_000, ceiling: 'express-hello' }), ceilings)])).toMatch(/0\.40× express-hello, 0\.10× node-http/);
    expect(formatTable([judgeAgainstCeilings(row({ throughputPerSecond: 30.5, ceiling: 'pgbench-update' }), ceilings)])).toMatch(/0\.0061× pgbench-update/);
  });

  it('judges the parts of a target that need the ceilings and the CPU', () => {
    const status = row({ throughputPerSecond: 2_000, ceiling: 'express-hello', targetRatio: 0.8, targetCpuMs: { processes: ['queue-gateway'], max: 0.25 }, cpu: { seconds: {}, msPerOperation: { 'queue-gateway': 0.2 } } });
    expect(judgeAgainstCeilings(status, ceilings).targetMet).toBe(true); // 0.8× and 0.2 ms
    expect(judgeAgainstCeilings({ ...status, throughputPerSecond: 1_999 }, ceilings).targetMet).toBe(false);
    expect(judgeAgainstCeilings({ ...status, cpu: { seconds: {}, msPerOperation: { 'queue-gateway': 0.26 } } }, ceilings).targetMet).toBe(false);
    expect(judgeAgainstCeilings({ ...status, cpu: undefined }, ceilings).targetMet).toBe(false); // not measured = not met
    expect(judgeAgainstCeilings({ ...status, targetMet: false }, ceilings).targetMet).toBe(false); // the scenario's own part still counts
    expect(judgeAgainstCeilings(status, []).targetMet).toBe(false);
    const checkout = row({ ceiling: 'pgbench-update', targetCpuMs: { processes: ['payment', 'wallet'], max: 15 }, cpu: { seconds: {}, msPerOperation: { payment: 10, wallet: 4, postgres: 30 } } });
    expect(judgeAgainstCeilings(checkout, ceilings)).toMatchObject({ targetMet: true, ratios: { 'pgbench-update': 0.02 } });
  });

  it('prints CPU ms per operation by process, with the stack total leaving out the load generator', () => {
    const measured = row({ scenario: 'queue-status', cpu: { seconds: {}, msPerOperation: { 'queue-gateway': 0.4, redis: 0.02, 'load-gen': 0.3 } } });
    expect(stackMs(measured.cpu!.msPerOperation, ['queue-gateway', 'redis', 'kafka'])).toBeCloseTo(0.42);
    expect(stackMs(undefined, ['queue-gateway'])).toBeUndefined();
    const table = formatCpuTable([measured], ['queue-gateway', 'kafka', 'redis', 'load-gen'], ['queue-gateway', 'kafka', 'redis']);
    const [header, , line] = table.split('\n');
    expect(header).toMatch(/\| CPU ms\/op +\| gateway \| kafka \| redis +\| load-gen \| stack +\|/);
    expect(line.split('|').map((c) => c.trim())).toEqual(['', 'queue-status', '0.400', '-', '0.020', '0.300', '0.420', '']);
    expect(formatTable([measured], { stackProcesses: ['queue-gateway', 'redis'] })).toMatch(/\| 0\.420 +\|/);
  });

  it('runs every scenario but the manual ones when none is named, and a manual one when it is named', () => {
    const all = [{ name: 'checkout' }, { name: 'soak', manual: true }, { name: 'seat-rush', manual: false }];
    expect(selectScenarios(all, []).map((s) => s.name)).toEqual(['checkout', 'seat-rush']);
    expect(selectScenarios(all, ['soak']).map((s) => s.name)).toEqual(['soak']);
    expect(selectScenarios(all, ['soak', 'checkout']).map((s) => s.name)).toEqual(['checkout', 'soak']);
    expect(selectScenarios(all, ['nope'])).toEqual([]);
  });

  it('lists the ceilings, a failed one with its error', () => {
    const table = formatCeilings([ceiling('node-http', 11_450, { serverCpuMsPerOp: 0.061 }), ceiling('pgbench-update', NaN, { failed: 'pgbench: command not found' })]);
    expect(table).toMatch(/\| node-http +\| 11450 +\| 1\.00 +\| 2\.00 +\| 0\.061 +\|/);
    expect(table).toMatch(/\| pgbench-update +\| - .*FAILED: pgbench: command not found/);
  });
});
