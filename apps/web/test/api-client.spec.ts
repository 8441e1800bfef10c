import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateApiTypes, SCHEMA_FILE } from '../scripts/generate-api';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

describe("the web app's API client", () => {
  it("is generated from the gateway's current OpenAPI document (regenerate: node --import tsx apps/web/scripts/generate-api.ts)", () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generateApiTypes());
  }, 60_000);

  it('type-checks, with every screen that calls it', async () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const project of ['apps/web/tsconfig.json', 'apps/web/tsconfig.node.json']) {
      const result = await run(process.execPath, [tsc, '-p', project], { cwd: ROOT }).then(
        () => 'no errors',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      );
      expect(`${project}: ${result}`).toBe(`${project}: no errors`);
    }
  }, 120_000);
});
