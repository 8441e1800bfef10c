import { SERVICE_NAMES } from '@ticketing/config';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { stackPaths } from '../../infra/stack/paths';
import { commandLine, readPidFile } from '../../infra/stack/process';
import { benchConfig } from './bench-config';
import { addCpu, cpuDelta, ownTicks, parseProcStat, postgresTicks, promCpuSeconds, redisCpuSeconds, type CpuSeconds, type ProcStat } from './cpu';

/** The columns of the CPU table, in order: the five services, the servers, and this process. */
export const CPU_PROCESSES = [...SERVICE_NAMES, 'kafka', 'postgres', 'redis', 'load-gen'] as const;
/** Not part of the system under test: left out of the stack's total. */
export const LOAD_GENERATOR = 'load-gen';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Every process of the machine, from /proc. */
export function readProcesses(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      stats.push(parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8')));
    } catch {
      // gone between the listing and the read
    }
  }
  return stats;
}

/** The broker's pid: the stack's pid file when it is still the broker, else any process running kafka.Kafka. */
export function brokerPid(processes: ProcStat[]): number | undefined {
  const recorded = readPidFile(stackPaths.kafkaPid);
  if (recorded && commandLine(recorded).includes('kafka.Kafka')) return recorded;
  return processes.find((p) => p.comm === 'java' && commandLine(p.pid).includes('kafka.Kafka'))?.pid;
}

async function serviceSeconds(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? promCpuSeconds(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuMeter {
  /** Runs `work` and adds what every process of the stack used meanwhile to `used`. */
  measure<T>(work: () => Promise<T>): Promise<T>;
  /** Seconds by process over every measured window so far (undefined before the first). */
  readonly used: CpuSeconds | undefined;
  close(): void;
}

/** One reading of every process's CPU seconds so far. */
export async function readCpu(redis: Redis): Promise<CpuSeconds> {
  const processes = readProcesses();
  const hz = clockTicks();
  const reading: CpuSeconds = {};
  const services = await Promise.all(SERVICE_NAMES.map((name) => serviceSeconds(benchConfig.metricsUrls[name])));
  SERVICE_NAMES.forEach((name, i) => services[i] !== undefined && (reading[name] = services[i]!));
  const broker = brokerPid(processes);
  const brokerStat = broker ? processes.find((p) => p.pid === broker) : undefined;
  if (brokerStat) reading.kafka = ownTicks(brokerStat) / hz;
  const pg = postgresTicks(processes);
  if (pg !== undefined) reading.postgres = pg / hz;
  const redisSeconds = redisCpuSeconds(await redis.info('cpu').catch(() => ''));
  if (redisSeconds !== undefined) reading.redis = redisSeconds;
  const own = process.cpuUsage();
  reading[LOAD_GENERATOR] = (own.user + own.system) / 1e6;
  return reading;
}

/** A meter over the stack's processes, read before and after each measured window. */
export function createCpuMeter(): CpuMeter {
  const redis = new Redis(benchConfig.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let used: CpuSeconds | undefined;
  return {
    async measure<T>(work: () => Promise<T>): Promise<T> {
      const before = await readCpu(redis);
      const value = await work();
      used = addCpu(used, cpuDelta(before, await readCpu(redis)));
      return value;
    },
    get used() {
      return used;
    },
    close: () => redis.disconnect(),
  };
}

/** CPU seconds of one process by pid (a ceiling's server), from /proc. */
export function processSeconds(pid: number): number | undefined {
  try {
    return ownTicks(parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))) / clockTicks();
  } catch {
    return undefined;
  }
}
