import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGatewayHarness, type GatewayHarness } from './gateway.harness';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '../../..');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

describe('the OpenAPI document as the gateway serves it', () => {
  let harness: GatewayHarness;
  let dir: string;
  beforeAll(async () => {
    harness = await createGatewayHarness();
    dir = mkdtempSync(path.join(tmpdir(), 'openapi-lint-'));
  });
  afterAll(async () => {
    await harness?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("passes Redocly CLI's recommended rules with no error and no warning", async () => {
    const res = await fetch(harness.a.url.replace(/\/api\/v1$/, '/api/docs/openapi.json'));
    expect(res.status).toBe(200);
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, await res.text());
    // The linter exits 1 when it finds an error; its JSON report is on stdout either way.
    const redocly = path.join(REPO_ROOT, 'node_modules', '.bin', 'redocly');
    const { stdout } = await run(redocly, ['lint', '--format=json', '--extends=recommended', file], { cwd: dir }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout) as LintReport;
    const found = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(found).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
