import { pgbenchLatenciesMs, pgbenchTps } from './pgbench';

describe('pgbench output', () => {
  it('reads the rate without the connection time', () => {
    const stdout = 'latency average = 0.561 ms\ninitial connection time = 8.064 ms\ntps = 7125.807393 (without initial connection time)\n';
    expect(pgbenchTps(stdout)).toBeCloseTo(7125.807393);
    expect(pgbenchTps('tps = 12 (including connections establishing)\n')).toBeUndefined();
  });

  it('reads each transaction latency (third field, microseconds) of the -l log, skipping skipped and failed ones', () => {
    const log = '0 1 1921 0 1796114617 952128\n1 1 1987 0 1796114617 952225\n2 7 skipped 0 1796114618 1\n\n3 2 462 0 1796114617 952579\n';
    expect(pgbenchLatenciesMs(log)).toEqual([1.921, 1.987, 0.462]);
  });
});
