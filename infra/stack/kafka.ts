import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaJars, KAFKA_VERSION } from './kafka-jars';
import { relativeToRepo, stackPaths } from './paths';
import {
  acquirePidLock,
  commandLine,
  defaultLog,
  isAlive,
  readPidFile,
  removeFile,
  runCommand,
  tailFile,
  terminate,
  type Log,
} from './process';
import { isPortOpen, sleep, waitFor } from './wait';

/** The only broker address the local stack starts itself (see infra/kafka/server.properties). */
export const LOCAL_KAFKA_BROKER = '127.0.0.1:9092';
/** Fixed cluster id of the local broker's storage (base64url of 16 bytes, as StorageTool wants). */
export const LOCAL_KAFKA_CLUSTER_ID = 'dGlja2V0aW5nLWxvY2FsIQ';

export interface EnsuredKafka {
  brokers: string[];
  startedByUs: boolean;
  stop(): Promise<void>;
}

export interface EnsureKafkaOptions {
  /** `host:port` list (or comma-separated string); default KAFKA_BROKERS or 127.0.0.1:9092. */
  brokers?: string | string[];
  /** How long a started broker may take to answer; default 60 s. */
  readyTimeoutMs?: number;
  log?: Log;
}

/** `'a:1, b:2'` or `['a:1']` → `['a:1', 'b:2']`. */
export function parseBrokers(brokers: string | string[] | undefined): string[] {
  const list = (Array.isArray(brokers) ? brokers : (brokers ?? '').split(',')).map((b) => b.trim()).filter(Boolean);
  return list.length > 0 ? list : [LOCAL_KAFKA_BROKER];
}

/** True when the cluster answers a kafkajs admin describeCluster() within about `timeoutMs`. */
export async function kafkaAnswers(brokers: string[], timeoutMs = 5000): Promise<boolean> {
  const reachable = await Promise.all(
    brokers.map((b) => {
      const i = b.lastIndexOf(':');
      return isPortOpen(b.slice(0, i), Number(b.slice(i + 1)), Math.min(timeoutMs, 2000));
    }),
  );
  if (!reachable.some(Boolean)) return false;
  const admin = new Kafka({
    clientId: 'stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function isOurBroker(pid: number): boolean {
  const cmd = commandLine(pid);
  return cmd.includes('kafka.Kafka') && cmd.includes(stackPaths.kafkaProperties);
}

/**
 * Stops the local broker when it was started by `ownerPid` (e.g. a test run that was interrupted
 * before its teardown). Returns true when it stopped one.
 */
export async function stopBrokerStartedBy(ownerPid: number, log: Log = defaultLog): Promise<boolean> {
  let record: { pid?: number; owner?: number };
  try {
    record = JSON.parse(fs.readFileSync(stackPaths.kafkaPid, 'utf8')) as { pid?: number; owner?: number };
  } catch {
    return false;
  }
  if (record.owner !== ownerPid || typeof record.pid !== 'number' || !isAlive(record.pid) || !isOurBroker(record.pid)) return false;
  await stopper(record.pid, log)();
  return true;
}

/** The broker's last words, for an error message. */
function brokerLogTail(): string {
  const parts: string[] = [];
  for (const file of [stackPaths.kafkaServerLog, stackPaths.kafkaStdout]) {
    const text = tailFile(file, 30);
    if (text) parts.push(`--- ${relativeToRepo(file)} (last lines) ---\n${text}`);
  }
  return parts.length > 0 ? `\n${parts.join('\n')}` : ' (the broker wrote no log)';
}

function writeProperties(): void {
  const template = fs.readFileSync(stackPaths.kafkaPropertiesTemplate, 'utf8');
  // Java properties treat backslashes as escapes; forward slashes work on every platform.
  const logDirs = stackPaths.kafkaData.split(path.sep).join('/');
  if (!/^log\.dirs=/m.test(template)) throw new Error('infra/kafka/server.properties has no log.dirs line');
  fs.writeFileSync(stackPaths.kafkaProperties, template.replace(/^log\.dirs=.*$/m, () => `log.dirs=${logDirs}`));
}

/** Lock files of a broker that died without cleaning up; only called when no broker of ours runs. */
function removeStaleDataLocks(): void {
  for (const lock of [path.join(stackPaths.kafkaData, '.lock'), path.join(stackPaths.kafkaData, '__cluster_metadata-0', '.lock')]) {
    if (fs.existsSync(lock)) removeFile(lock);
  }
}

function stopper(pid: number, log: Log): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      const how = await terminate(pid, { timeoutMs: 20_000 });
      if (readPidFile(stackPaths.kafkaPid) === pid) removeFile(stackPaths.kafkaPid);
      if (how === 'terminated') log(`Kafka broker stopped (pid ${pid})`);
      else if (how === 'killed') log(`Kafka broker did not stop within 20 s: killed (pid ${pid})`);
    })());
}

async function startBroker(brokers: string[], readyTimeoutMs: number, log: Log): Promise<EnsuredKafka> {
  // A broker recorded by an earlier run that is alive but did not answer: give it a moment, else replace it.
  const recorded = readPidFile(stackPaths.kafkaPid);
  if (recorded !== undefined && isAlive(recorded) && isOurBroker(recorded)) {
    log(`a Kafka broker from an earlier run (pid ${recorded}) does not answer yet; waiting for it`);
    const ok = await waitFor(() => kafkaAnswers(brokers), { timeoutMs: readyTimeoutMs, label: 'the earlier broker', intervalMs: 1000 }).catch(() => false);
    if (ok) return { brokers, startedByUs: false, stop: async () => undefined };
    log(`the earlier broker (pid ${recorded}) never answered: stopping it`);
    await terminate(recorded, { timeoutMs: 15_000 });
  }
  removeFile(stackPaths.kafkaPid);

  for (const port of [9092, 9093]) {
    if (await isPortOpen('127.0.0.1', port)) {
      throw new Error(`port ${port} on 127.0.0.1 is taken by a program that is not a working Kafka broker; free it (or set KAFKA_BROKERS to your broker)`);
    }
  }

  const { dir: libs } = await ensureKafkaJars({ log });
  fs.mkdirSync(stackPaths.kafkaData, { recursive: true });
  fs.mkdirSync(stackPaths.kafkaLogs, { recursive: true });
  writeProperties();
  removeStaleDataLocks();
  const classPath = `${libs}${path.sep}*`; // java expands the wildcard itself (no shell involved)

  const format = await runCommand(
    'java',
    ['-cp', classPath, 'kafka.tools.StorageTool', 'format', '-t', LOCAL_KAFKA_CLUSTER_ID, '-c', stackPaths.kafkaProperties, '--ignore-formatted'],
    { timeoutMs: 60_000 },
  ).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'java is needed for the local Kafka broker (OpenJDK 17+); install it' : err.message);
  });
  if (format.code !== 0) throw new Error(`formatting the Kafka storage failed (exit ${format.code}):\n${format.output}`);

  log(`starting Kafka ${KAFKA_VERSION} on ${LOCAL_KAFKA_BROKER} (data in ${relativeToRepo(stackPaths.kafkaData)}, log in ${relativeToRepo(stackPaths.kafkaServerLog)})`);
  const started = Date.now();
  const out = fs.openSync(stackPaths.kafkaStdout, 'a');
  // Detached: its own process group, so a Ctrl-C in the terminal reaches only its owner, which stops it.
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx512m',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${stackPaths.kafkaLogs}`,
      `-Dlog4j.configuration=${pathToFileURL(stackPaths.kafkaLog4j).href}`,
      '-cp',
      classPath,
      'kafka.Kafka',
      stackPaths.kafkaProperties,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((resolve) => child.once('error', resolve));
    throw new Error('could not start java for the Kafka broker');
  }
  child.unref(); // the owner decides when it stops, with stop()
  // The owner is recorded so that a run that died without stopping its broker can be cleaned up.
  fs.writeFileSync(stackPaths.kafkaPid, `${JSON.stringify({ pid, owner: process.pid })}\n`);

  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  const stop = stopper(pid, log);
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`the broker exited (${exited})`);
        return (await isPortOpen('127.0.0.1', 9092)) && (await kafkaAnswers(brokers));
      },
      { timeoutMs: readyTimeoutMs, label: `Kafka on ${LOCAL_KAFKA_BROKER}`, intervalMs: 500 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}${brokerLogTail()}`);
  }
  log(`Kafka ready on ${LOCAL_KAFKA_BROKER} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid})`);
  return { brokers, startedByUs: true, stop };
}

/**
 * Makes sure a Kafka cluster answers at `brokers`. A running one is reused. When none answers
 * and the address is the local 127.0.0.1:9092, starts the single-node KRaft broker from the
 * jars in .cache/kafka/libs (fetched with Maven on first use) and waits until it answers.
 */
export async function ensureKafka(options: EnsureKafkaOptions = {}): Promise<EnsuredKafka> {
  const brokers = parseBrokers(options.brokers ?? process.env.KAFKA_BROKERS);
  const log = options.log ?? defaultLog;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const reuse = (): EnsuredKafka => {
    log(`Kafka answers at ${brokers.join(',')}`);
    return { brokers, startedByUs: false, stop: async () => undefined };
  };

  if (await kafkaAnswers(brokers)) return reuse();
  if (brokers.length !== 1 || brokers[0] !== LOCAL_KAFKA_BROKER) {
    throw new Error(
      `Kafka does not answer at ${brokers.join(',')}; only ${LOCAL_KAFKA_BROKER} is started automatically (unset KAFKA_BROKERS to use it, or start your broker)`,
    );
  }

  // One starter at a time (npm start and npm test may race); the others wait and then reuse it.
  for (;;) {
    const lock = acquirePidLock(stackPaths.kafkaStartLock);
    if (lock.acquired) {
      try {
        if (await kafkaAnswers(brokers)) return reuse();
        return await startBroker(brokers, readyTimeoutMs, log);
      } finally {
        lock.release();
      }
    }
    log(`another process (pid ${lock.heldBy}) is starting Kafka; waiting for it`);
    while (isAlive(lock.heldBy) && readPidFile(stackPaths.kafkaStartLock) === lock.heldBy) {
      if (await kafkaAnswers(brokers)) return reuse();
      await sleep(1000);
    }
    if (await kafkaAnswers(brokers)) return reuse();
  }
}
