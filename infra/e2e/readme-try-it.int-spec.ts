import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedDemo } from '../scripts/seed-demo';
import { startSystem, type RunningSystem } from './system.harness';

const README = path.resolve(__dirname, '../../README.md');
const FIRST = 'Try the API through the gateway';
const AFTER = '`HOLD_TTL_SECONDS=10 npm start`';

/** The README's try-it commands: every ```bash block from FIRST up to AFTER, in order. */
export function tryItCommands(readme: string): string {
  const from = readme.indexOf(FIRST);
  const to = readme.indexOf(AFTER, from);
  if (from < 0 || to < 0) throw new Error(`README: the try-it section ("${FIRST}" … "${AFTER}") is gone`);
  const blocks = [...readme.slice(from, to).matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README: no bash block in the try-it section');
  return blocks.join('\n');
}

function runBash(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A bare shell: no profile, only PATH (curl and node), a home of its own.
    const child = spawn('bash', ['--noprofile', '--norc', '-c', script], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("the README's try-it commands", () => {
  let system: RunningSystem;
  let home: string;
  beforeAll(async () => {
    // The README's admin key is the development default, so the system gets that one.
    system = await startSystem({ label: 'e2e_readme', commonEnv: { ADMIN_API_KEY: 'dev-admin-key' } });
    await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: 'dev-admin-key', log: () => undefined });
    home = mkdtempSync(path.join(tmpdir(), 'readme-try-it-'));
  }, 180_000);
  afterAll(async () => {
    await system?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('run as pasted into bash (only the address changed to this system’s) and buy a seat', async () => {
    const commands = tryItCommands(readFileSync(README, 'utf8'));
    expect(commands).not.toMatch(/uuidgen|seatNo":\d/);
    const script = commands.split('http://127.0.0.1:3000').join(system.gatewayUrl);
    expect(script).toContain(`G=${system.gatewayUrl}/api/v1`);
    const { stdout, stderr } = await runBash(script, home);
    const all = `${stdout}\n${stderr}`;
    const say = `--- stdout:\n${stdout.slice(-6000)}\n--- stderr:\n${stderr.slice(-3000)}`;
    const saw = (what: RegExp | string) => (typeof what === 'string' ? all.includes(what) : what.test(all));
    for (const expected of [
      /"queueToken":"[^"]+"/, // entered the concert's line
      'event: status', // the stream
      '"status":"HELD"', // a free seat held
      /"balance":\d+/, // the charge
      '"status":"COMPLETED"', // paid
      '"kind":"DEBIT"', // the ledger
      '"status":"EXPIRED"', // the slot went to the next fan (the loop waits for it)
      '"revision":1', // the admin's sale
    ]) {
      if (!saw(expected)) throw new Error(`expected ${expected} in what the commands printed\n${say}`);
    }
    expect(all).not.toMatch(/command not found|SyntaxError|Bearer undefined|"code":"(VALIDATION_FAILED|SEAT_UNAVAILABLE|NOT_ADMITTED)"/);
  }, 180_000);
});
