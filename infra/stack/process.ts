import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from './wait';

/** Where progress lines go; the scripts print them, tests may silence them. */
export type Log = (line: string) => void;

export const defaultLog: Log = (line) => console.log(`[stack] ${line}`);

/** True while `pid` is a running process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we have
  }
}

/** The command line of a process, '' when it is gone; used to check that a recorded pid is still ours. */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  }
}

/** Reads a pid file: a bare number or JSON with a `pid` field; undefined when missing or unreadable. */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  let pid: unknown = Number(text);
  if (!Number.isInteger(pid)) {
    try {
      pid = (JSON.parse(text) as { pid?: unknown }).pid;
    } catch {
      return undefined;
    }
  }
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
}

/**
 * Sends SIGTERM (to the process group when `group` is set and the process leads one) and waits
 * for the process to exit; SIGKILL after `timeoutMs`. Returns how it ended.
 */
export async function terminate(
  pid: number,
  { timeoutMs = 10_000, group = false }: { timeoutMs?: number; group?: boolean } = {},
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!isAlive(pid)) return 'not-running';
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(group ? -pid : pid, signal);
    } catch {
      try {
        process.kill(pid, signal); // not a group leader after all
      } catch {
        /* already gone */
      }
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(100);
  }
  send('SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'killed';
}

/** The last `lines` lines of a text file ('' when it does not exist); reads at most its last 64 KiB. */
export function tailFile(file: string, lines = 40): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Runs a command to completion and returns its exit code and combined output (never reads stdin). */
export function runCommand(
  command: string,
  args: string[],
  { timeoutMs = 60_000, cwd, env }: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 64 * 1024) output = output.slice(-64 * 1024);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output: output.trim() });
    });
  });
}

/** A URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export type PidLock = { acquired: true; release(): void } | { acquired: false; heldBy: number };

/**
 * Takes a lock file holding this process's pid (created exclusively). A lock whose process is
 * gone, or is no longer the program `stillOwner` recognises (pid reuse), is stale and taken over.
 */
export function acquirePidLock(file: string, stillOwner: (cmdline: string) => boolean = () => true): PidLock {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written aside and hard-linked into place: atomic, and never seen empty by another process.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${process.pid}\n`);
    try {
      fs.linkSync(tmp, file);
      return {
        acquired: true,
        release() {
          if (readPidFile(file) === process.pid) removeFile(file);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      removeFile(tmp);
    }
    const holder = readPidFile(file);
    if (holder !== undefined && isAlive(holder) && stillOwner(commandLine(holder))) {
      return { acquired: false, heldBy: holder };
    }
    removeFile(file); // stale: its process is gone
  }
  throw new Error(`could not take the lock ${path.basename(file)}`);
}
