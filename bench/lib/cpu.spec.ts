import { addCpu, cpuDelta, cpuReport, msPerOperation, parseProcStat, postgresTicks, promCpuSeconds, redisCpuSeconds, type ProcStat } from './cpu';

const stat = (pid: number, comm: string, ppid: number, [utime, stime, cutime, cstime]: number[]) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 123 456789 100`;

describe('CPU accounting', () => {
  it('reads utime, stime, cutime and cstime (fields 14-17) of a /proc stat line, even with spaces and parentheses in the name', () => {
    expect(parseProcStat(stat(42, 'postgres: bench (idle)', 7, [11, 22, 33, 44]))).toEqual({ pid: 42, comm: 'postgres: bench (idle)', ppid: 7, utime: 11, stime: 22, cutime: 33, cstime: 44 });
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc/);
  });

  it("sums PostgreSQL's postmaster, its live children and what its exited children used, and nothing else", () => {
    const processes: ProcStat[] = [
      parseProcStat(stat(1, 'init', 0, [1000, 1000, 0, 0])),
      parseProcStat(stat(100, 'postgres', 1, [5, 5, 300, 200])), // postmaster: own 10 + reaped backends 500
      parseProcStat(stat(101, 'postgres', 100, [40, 10, 0, 0])), // a backend: 50
      parseProcStat(stat(102, 'postgres', 100, [7, 3, 9999, 9999])), // walwriter: 10 (a child's cutime is not ours)
      parseProcStat(stat(200, 'node', 1, [800, 100, 0, 0])), // a client, not PostgreSQL
      parseProcStat(stat(201, 'postgres', 200, [1, 1, 0, 0])), // another postmaster (a test cluster), under node: counted too
    ];
    expect(postgresTicks(processes)).toBe(10 + 500 + 50 + 10 + 2);
    expect(postgresTicks(processes.filter((p) => p.comm !== 'postgres'))).toBeUndefined();
  });

  it("keeps the CPU of a backend that exited between two readings (it moves into the postmaster's cutime)", () => {
    const before = [parseProcStat(stat(100, 'postgres', 1, [5, 5, 0, 0])), parseProcStat(stat(101, 'postgres', 100, [30, 10, 0, 0]))];
    const after = [parseProcStat(stat(100, 'postgres', 1, [6, 5, 50, 20]))]; // 101 used 30 more ticks, then exited
    expect(postgresTicks(after)! - postgresTicks(before)!).toBe(1 + 30);
  });

  it('reads process_cpu_seconds_total with or without labels, and Redis used_cpu_sys + used_cpu_user', () => {
    const exposition = '# HELP process_cpu_seconds_total x\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_user_seconds_total{service="wallet"} 9\nprocess_cpu_seconds_total{service="wallet"} 12.5\n';
    expect(promCpuSeconds(exposition)).toBe(12.5);
    expect(promCpuSeconds('process_cpu_seconds_total 3e-1\n')).toBeCloseTo(0.3);
    expect(promCpuSeconds('nodejs_heap_size_total_bytes 1\n')).toBeUndefined();
    const info = '# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\nused_cpu_user_main_thread:2.4\r\n';
    expect(redisCpuSeconds(info)).toBeCloseTo(3.75);
    expect(redisCpuSeconds('')).toBeUndefined();
  });

  it('gives the CPU used between readings, leaving out a process missing from either or that restarted', () => {
    const delta = cpuDelta({ gateway: 10, kafka: 5, restarted: 50, gone: 1 }, { gateway: 12.5, kafka: 5.25, restarted: 0.5, appeared: 3 });
    expect(delta).toEqual({ gateway: 2.5, kafka: 0.25 });
  });

  it('adds windows and turns seconds into milliseconds per operation', () => {
    const both = addCpu(addCpu(undefined, { gateway: 1, wallet: 0.5 }), { gateway: 2, wallet: 0.25, kafka: 1 });
    expect(both).toEqual({ gateway: 3, wallet: 0.75 });
    expect(msPerOperation({ gateway: 3, wallet: 0.75 }, 1_500)).toEqual({ gateway: 2, wallet: 0.5 });
    expect(msPerOperation({ gateway: 3 }, 0)).toEqual({});
    expect(cpuReport({ payment: 0.044 }, 1)).toEqual({ seconds: { payment: 0.044 }, msPerOperation: { payment: 44 } });
    expect(cpuReport(undefined, 10)).toBeUndefined();
  });
});
