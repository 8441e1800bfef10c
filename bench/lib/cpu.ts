/**
 * CPU accounting for the processes of the stack, as pure functions over what /proc, Prometheus and
 * Redis report; bench/lib/cpu-meter.ts does the reading.
 */

/** CPU seconds used so far, by process of the stack (a process missing from a reading is absent). */
export type CpuSeconds = Record<string, number>;

/** The fields of /proc/<pid>/stat the accounting needs (times in clock ticks). */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of reaped children (a PostgreSQL backend that exited is counted here, in the postmaster). */
  cutime: number;
  cstime: number;
}

/** Parses one /proc/<pid>/stat line: fields after the command name, which may hold spaces and parentheses. */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${line.slice(0, 80)}`);
  // Field 3 (state) is the first after ')'; fields 14..17 are utime, stime, cutime, cstime.
  const rest = line.slice(close + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  return { pid: Number(line.slice(0, open).trim()), comm: line.slice(open + 1, close), ppid: field(4), utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** PostgreSQL's processes: the postmasters (a `postgres` process whose parent is not one) and their live children. */
export function postgresProcesses(processes: ProcStat[]): { postmasters: Set<number>; children: ProcStat[] } {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const postmasters = new Set(processes.filter((p) => p.comm === 'postgres' && byPid.get(p.ppid)?.comm !== 'postgres').map((p) => p.pid));
  return { postmasters, children: processes.filter((p) => postmasters.has(p.ppid)) };
}

/**
 * PostgreSQL's ticks: the postmaster with every live child, plus the postmaster's cutime + cstime,
 * which hold what exited backends used.
 */
export function postgresTicks(processes: ProcStat[]): number | undefined {
  const { postmasters, children } = postgresProcesses(processes);
  if (postmasters.size === 0) return undefined;
  let ticks = 0;
  for (const p of processes) if (postmasters.has(p.pid)) ticks += p.utime + p.stime + p.cutime + p.cstime;
  for (const p of children) ticks += p.utime + p.stime;
  return ticks;
}

/** utime + stime of one process, in ticks. */
export const ownTicks = (p: ProcStat) => p.utime + p.stime;

/** `process_cpu_seconds_total` from a Prometheus text exposition (prom-client's default metrics). */
export function promCpuSeconds(exposition: string): number | undefined {
  const match = /^process_cpu_seconds_total(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/m.exec(exposition);
  return match ? Number(match[1]) : undefined;
}

/** Redis's own CPU (main and I/O threads, system + user) from `INFO cpu`. */
export function redisCpuSeconds(info: string): number | undefined {
  const read = (name: string) => new RegExp(`^${name}:([0-9.]+)\\s*$`, 'm').exec(info)?.[1];
  const sys = read('used_cpu_sys');
  const user = read('used_cpu_user');
  return sys && user ? Number(sys) + Number(user) : undefined;
}

/**
 * What each process used between two readings. A process missing from either reading, or whose
 * counter went backwards (it restarted in between), is left out rather than reported wrong.
 */
export function cpuDelta(before: CpuSeconds, after: CpuSeconds): CpuSeconds {
  const delta: CpuSeconds = {};
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (start === undefined || !Number.isFinite(start) || !Number.isFinite(end) || end < start) continue;
    delta[name] = end - start;
  }
  return delta;
}

/** Sums usages over several measured windows (a process has to be in every one to be summed). */
export function addCpu(a: CpuSeconds | undefined, b: CpuSeconds): CpuSeconds {
  if (!a) return { ...b };
  const sum: CpuSeconds = {};
  for (const name of Object.keys(b)) if (a[name] !== undefined) sum[name] = a[name] + b[name];
  return sum;
}

/** CPU milliseconds per operation, by process; empty when nothing was done. */
export function msPerOperation(used: CpuSeconds, operations: number): CpuSeconds {
  if (!(operations > 0)) return {};
  return Object.fromEntries(Object.entries(used).map(([name, seconds]) => [name, (seconds * 1_000) / operations]));
}

/** A row's CPU: seconds over its measured windows and milliseconds per operation, by process. */
export function cpuReport(used: CpuSeconds | undefined, operations: number): { seconds: CpuSeconds; msPerOperation: CpuSeconds } | undefined {
  return used ? { seconds: used, msPerOperation: msPerOperation(used, operations) } : undefined;
}
