import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { waitFor } from './wait';

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL, as a crash or an OOM kill: nothing is flushed beyond what the server already wrote. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder (after `kill`) and waits until it answers. */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answersPing(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false; // refused, or LOADING while it reads its append-only file
  } finally {
    probe.disconnect();
  }
}

/**
 * A real redis-server of the test's own (this machine's binary, its own port and folder), for tests
 * that read server-wide figures such as INFO commandstats, which other tests sharing a server would
 * disturb, or that kill and restart it. Nothing is persisted unless `persistent`: then it keeps an
 * append-only file fsynced every second, as the stack and compose run Redis, so a restart on the same
 * folder comes back with the data.
 */
export async function startPrivateRedis({ persistent = false }: { persistent?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-test-'));
  const persistence = persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (child) throw new Error('the private redis-server is running');
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], { stdio: 'ignore' });
    child = started;
    exited = new Promise<void>((resolve) =>
      started.once('exit', () => {
        if (child === started) child = undefined;
        resolve();
      }),
    );
    await waitFor(() => answersPing(url), { label: `redis-server on port ${port}`, timeoutMs: 10_000 });
  }

  async function kill(): Promise<void> {
    child?.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    url,
    port,
    kill,
    start,
    async stop() {
      // SIGTERM, then SIGKILL: Redis ignores SIGTERM while it writes its first append-only file.
      const running = child;
      running?.kill('SIGTERM');
      const timer = setTimeout(() => running?.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedisCluster {
  /** `host:port` of every master. */
  nodes: string[];
  /** The master serving a key's hash slot (`host:port`). */
  nodeOf(key: string): Promise<string>;
  /** Stops every node and removes their folders. */
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes of this machine's binary in
 * cluster mode (each its own free port and folder, no replicas, nothing persisted), the 16,384 slots
 * spread over them by `redis-cli --cluster create`. Resolves once every node says the cluster is ok.
 */
export async function startRedisCluster({ masters = 3 }: { masters?: number } = {}): Promise<PrivateRedisCluster> {
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await freePort());
  const dirs = ports.map(() => mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-test-')));
  const children = ports.map((port, i) =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--dir', dirs[i]],
      { stdio: 'ignore' },
    ),
  );
  const exits = children.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const stop = async () => {
    children.forEach((child) => child.kill('SIGKILL'));
    await Promise.all(exits);
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  };
  try {
    for (const port of ports) await waitFor(() => answersPing(`redis://127.0.0.1:${port}`), { label: `cluster node on port ${port}`, timeoutMs: 10_000 });
    await new Promise<void>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      create.stdout.on('data', (chunk) => (output += chunk));
      create.stderr.on('data', (chunk) => (output += chunk));
      create.once('error', reject);
      create.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed (${code}): ${output}`))));
    });
    const probes = ports.map((port) => new Redis(port, '127.0.0.1', { lazyConnect: true }));
    try {
      await Promise.all(probes.map((p) => p.connect()));
      await waitFor(async () => (await Promise.all(probes.map((p) => p.cluster('INFO')))).every((info) => /cluster_state:ok/.test(String(info))), {
        label: 'the cluster to be ok on every node',
        timeoutMs: 20_000,
      });
    } finally {
      probes.forEach((p) => p.disconnect());
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    async nodeOf(key: string) {
      const probe = new Redis(ports[0], '127.0.0.1');
      try {
        const slot = Number(await probe.cluster('KEYSLOT', key));
        const ranges = (await probe.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
        const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) throw new Error(`no node serves slot ${slot}`);
        return `${owner[2][0]}:${owner[2][1]}`;
      } finally {
        probe.disconnect();
      }
    },
    stop,
  };
}

/** Calls per command from INFO commandstats (commands run inside scripts count too). */
export async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

/** What `after` has more of than `before`, per command. */
export function callsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) if (n - (before[name] ?? 0) > 0) delta[name] = n - (before[name] ?? 0);
  return delta;
}

/** Deletes every key of a hash-tagged prefix (`{prefix}…`), e.g. one test's waiting room. */
export async function deleteTaggedKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    // `{prefix}…` (one room) and `{prefix:<room>}…` (a room per sale under the prefix).
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}[}:]*`, 'COUNT', 1_000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
