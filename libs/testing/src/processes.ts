import { childEnvironment } from '@ticketing/config';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface TestProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line of output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGKILL: no cleanup, no flush, as a crash or an OOM kill. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const repoRoot = path.resolve(__dirname, '../../..');

/** Runs a TypeScript file as a real Node process (under tsx), as the services run. */
export function runTsProcess(file: string, env: Record<string, string | undefined> = {}, args: string[] = []): TestProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: repoRoot,
    env: childEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffer = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    listeners.forEach((l) => l());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => buffer,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = buffer.split('\n').find((line) => pattern.test(line));
          if (match !== undefined) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${buffer.slice(-4000)}`));
        }, timeoutMs);
        const onExit = () => {
          check();
          cleanup();
          reject(new Error(`process exited before printing ${pattern}; output:\n${buffer.slice(-4000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
