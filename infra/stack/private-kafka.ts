import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { kafkaAnswers } from './kafka';
import { ensureKafkaJars } from './kafka-jars';
import { stackPaths } from './paths';
import { defaultLog, runCommand, tailFile, type Log } from './process';
import { waitFor } from './wait';

/** A single-node KRaft broker of one test's own, on its own ports and folder, that the test may pause or kill. */
export interface PrivateKafka {
  brokers: string[];
  pid: number;
  /** SIGSTOP: the broker keeps its connections open and answers nothing (a hung or partitioned broker). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Kills the broker and removes its folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a second broker from the same jars and template as the local stack's (infra/kafka), with
 * its listener and controller on free ports and its data in a temporary folder, for tests that must
 * stop, pause or restart a broker without touching the shared one.
 */
export async function startPrivateKafka({ log = defaultLog, readyTimeoutMs = 120_000 }: { log?: Log; readyTimeoutMs?: number } = {}): Promise<PrivateKafka> {
  const { dir: libs } = await ensureKafkaJars({ log });
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-private-'));
  const properties = path.join(dir, 'server.properties');
  const slash = (p: string) => p.split(path.sep).join('/');
  const template = fs.readFileSync(stackPaths.kafkaPropertiesTemplate, 'utf8');
  fs.writeFileSync(
    properties,
    template
      .replace(/^controller\.quorum\.voters=.*$/m, `controller.quorum.voters=1@127.0.0.1:${controllerPort}`)
      .replace(/^listeners=.*$/m, `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`)
      .replace(/^advertised\.listeners=.*$/m, `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`)
      .replace(/^log\.dirs=.*$/m, `log.dirs=${slash(path.join(dir, 'data'))}`),
  );
  const classPath = `${libs}${path.sep}*`;
  // 16 random bytes in base64url, as Kafka's own ids; as `--cluster-id=<id>`, because an id starting
  // with '-' (1 in 64) given as a separate argument is read as an option and the format fails.
  const clusterId = randomBytes(16).toString('base64url');
  const format = await runCommand('java', ['-cp', classPath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', properties], { timeoutMs: 60_000 });
  if (format.code !== 0) throw new Error(`formatting the private broker's storage failed (exit ${format.code}):\n${format.output}`);

  const logFile = path.join(dir, 'stdout.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    'java',
    ['-Xms128m', '-Xmx512m', '-Djava.awt.headless=true', `-Dkafka.logs.dir=${dir}`, `-Dlog4j.configuration=${pathToFileURL(stackPaths.kafkaLog4j).href}`, '-cp', classPath, 'kafka.Kafka', properties],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error('could not start java for the private broker');
  const pid = child.pid;
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exited = signal ?? `exit code ${code}`), resolve())));
  // Nothing outlives the test process, even when its hooks time out.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (exited === undefined) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const brokers = [`127.0.0.1:${port}`];
  const started = Date.now();
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`the private broker exited (${exited})`);
        return kafkaAnswers(brokers, 3_000);
      },
      { timeoutMs: readyTimeoutMs, label: `private Kafka on ${brokers[0]}`, intervalMs: 500 },
    );
  } catch (error) {
    const tail = tailFile(path.join(dir, 'server.log'), 30) || tailFile(logFile, 30);
    await stop();
    throw new Error(`${(error as Error).message}\n${tail}`);
  }
  log(`private Kafka ready on ${brokers[0]} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid})`);
  return {
    brokers,
    pid,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop,
  };
}
