import type { ServiceName } from '@ticketing/config';
import { readFileSync } from 'node:fs';
import type Redis from 'ioredis';
import { stackPaths } from '../../infra/stack/paths';
import { postgresProcesses } from './cpu';
import { brokerPid, readProcesses } from './cpu-meter';

/** The pids of the services `npm start` runs, from its record of them (none when the stack is not running). */
export function servicePids(): Partial<Record<ServiceName, number>> {
  try {
    const record = JSON.parse(readFileSync(stackPaths.services, 'utf8')) as { services: { name: ServiceName; pid?: number }[] };
    return Object.fromEntries(record.services.filter((s) => s.pid).map((s) => [s.name, s.pid!]));
  } catch {
    return {};
  }
}

/** A size in kB from one of a process's /proc files (`VmRSS:` of status, `Pss:` of smaps_rollup), in bytes. */
function procKb(pid: number, file: 'status' | 'smaps_rollup', field: string): number | undefined {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined; // gone, or not ours to read
  }
}

export const rssBytes = (pid: number) => procKb(pid, 'status', 'VmRSS') ?? NaN;

/**
 * Resident memory of every process of the stack, in bytes: each service and the broker (VmRSS);
 * PostgreSQL as the sum of its processes' PSS (shared buffers divided among the backends that map
 * them, so they are counted once); Redis's `used_memory_rss`. A process not found is absent.
 */
export async function stackMemory(redis: Redis): Promise<{ bytes: Record<string, number>; postgresProcesses: number }> {
  const bytes: Record<string, number> = {};
  for (const [name, pid] of Object.entries(servicePids())) {
    const rss = procKb(pid, 'status', 'VmRSS');
    if (rss !== undefined) bytes[name] = rss;
  }
  const processes = readProcesses();
  const broker = brokerPid(processes);
  const brokerRss = broker && procKb(broker, 'status', 'VmRSS');
  if (brokerRss) bytes.kafka = brokerRss;
  const { postmasters, children } = postgresProcesses(processes);
  const pg = [...postmasters, ...children.map((p) => p.pid)].map((pid) => procKb(pid, 'smaps_rollup', 'Pss') ?? 0);
  if (pg.length) bytes.postgres = pg.reduce((a, b) => a + b, 0);
  const redisRss = /^used_memory_rss:(\d+)/m.exec(await redis.info('memory').catch(() => ''))?.[1];
  if (redisRss) bytes.redis = Number(redisRss);
  return { bytes, postgresProcesses: pg.length };
}
