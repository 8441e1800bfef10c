/**
 * `npm test`: runs jest with the terminal attached and any extra arguments passed through,
 * then prints one last plain line `N passed, N failed` from jest's JSON report. The servers for
 * the integration tests are found or started by jest's global setup (infra/stack/test-stack.ts).
 * Exit code: jest's, and non-zero when no test ran at all.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stopBrokerStartedBy } from '../stack/kafka';
import { REPO_ROOT, STACK_DIR, stackPaths } from '../stack/paths';

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numRuntimeErrorTestSuites: number;
}

function readReport(): JestReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(stackPaths.jestResults, 'utf8')) as JestReport;
  } catch {
    return undefined;
  }
}

function main(): void {
  fs.mkdirSync(STACK_DIR, { recursive: true });
  fs.rmSync(stackPaths.jestResults, { force: true }); // never report an earlier run
  const jest = path.join(REPO_ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'jest.cmd' : 'jest');
  const args = ['--json', `--outputFile=${stackPaths.jestResults}`, ...process.argv.slice(2)];
  const child = spawn(jest, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });

  // jest stops on its own at Ctrl-C; a SIGTERM sent to this script alone is passed on.
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));

  child.once('error', (err) => {
    console.error(`could not run jest: ${err.message}`);
    console.log('0 passed, 0 failed');
    process.exit(1);
  });
  child.once('exit', async (code, signal) => {
    // jest skips its global teardown when interrupted: stop a broker its setup started.
    if (child.pid !== undefined) {
      await stopBrokerStartedBy(child.pid, (line) => console.log(`[test] ${line} (started by the interrupted run)`)).catch(() => false);
    }
    const report = readReport();
    const passed = report?.numPassedTests ?? 0;
    const failed = (report?.numFailedTests ?? 0) + (report?.numRuntimeErrorTestSuites ?? 0);
    const total = report?.numTotalTests ?? 0;
    let exitCode = code ?? (signal ? 1 : 0);
    if (exitCode === 0 && (total === 0 || failed > 0)) exitCode = 1;
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(exitCode);
  });
}

main();
