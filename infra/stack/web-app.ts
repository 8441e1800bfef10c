import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';
import { defaultLog, runCommand, type Log } from './process';

/** The fan web app's sources and build (apps/web; the gateway serves WEB_DIST at /). */
const WEB_DIR = path.join(REPO_ROOT, 'apps', 'web');
export const WEB_DIST = path.join(WEB_DIR, 'dist');
const BUILT_MARK = path.join(WEB_DIST, 'index.html');
const VITE = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

function newestMtime(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

/** True when apps/web/dist exists and is newer than every source it is built from. */
export function webBuildIsCurrent(): boolean {
  const built = fs.statSync(BUILT_MARK, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  const sources = Math.max(...['src', 'index.html', 'vite.config.mts'].map((p) => newestMtime(path.join(WEB_DIR, p))), newestMtime(path.join(REPO_ROOT, 'package-lock.json')));
  return built >= sources;
}

/** Builds the web app with Vite when its build is missing or older than its sources. */
export async function ensureWebBuild({ log = defaultLog, force = false }: { log?: Log; force?: boolean } = {}): Promise<{ built: boolean; ms: number }> {
  if (!force && webBuildIsCurrent()) return { built: false, ms: 0 };
  const t0 = Date.now();
  log(`building the web app (apps/web → ${path.relative(REPO_ROOT, WEB_DIST)})`);
  // A production build whatever NODE_ENV the caller runs under (jest sets `test`, which Vite would follow).
  const env = { ...process.env, NODE_ENV: 'production' };
  const { code, output } = await runCommand(process.execPath, [VITE, 'build', '--config', path.join(WEB_DIR, 'vite.config.mts')], { cwd: REPO_ROOT, timeoutMs: 180_000, env });
  if (code !== 0) throw new Error(`the web app's build failed (exit ${code}):\n${output.slice(-3000)}`);
  return { built: true, ms: Date.now() - t0 };
}

/** Where the browser tests find Chromium: CHROMIUM_PATH, else Debian's package. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's Chromium for the browser tests, installed with apt when it is missing (as root, or
 * through `sudo -n` where that works without a password), as a fresh CI machine needs.
 */
export async function ensureChromium({ log = defaultLog }: { log?: Log } = {}): Promise<string> {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`no Chromium at ${CHROMIUM}: install one and set CHROMIUM_PATH (the browser tests use playwright-core with a system Chromium)`);
  }
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    asRoot ? runCommand('apt-get', args, { timeoutMs: 600_000 }) : runCommand('sudo', ['-n', 'apt-get', ...args], { timeoutMs: 600_000 });
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  Object.assign(process.env, env);
  log(`Chromium is missing: apt-get install -y chromium${asRoot ? '' : ' (sudo)'}`);
  let result = await apt(['install', '-y', '-q', 'chromium']);
  if (result.code !== 0) {
    // A fresh machine may have no package lists yet.
    await apt(['update', '-q']);
    result = await apt(['install', '-y', '-q', 'chromium']);
  }
  if (result.code !== 0 || !fs.existsSync(CHROMIUM)) {
    throw new Error(`could not install Chromium with apt (exit ${result.code}); install the Debian package chromium by hand:\n${result.output.slice(-2000)}`);
  }
  log(`Chromium installed at ${CHROMIUM}`);
  return CHROMIUM;
}
