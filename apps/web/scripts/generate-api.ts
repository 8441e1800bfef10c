/**
 * Writes apps/web/src/api/schema.d.ts, the API's types for the web app's client, from the gateway's
 * OpenAPI document with openapi-typescript (both run as programs: no app imports another app).
 * `node --import tsx apps/web/scripts/generate-api.ts` after changing the API; `--check` only
 * tells whether the committed file is what the generator makes now.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
export const SCHEMA_FILE = path.join(ROOT, 'apps/web/src/api/schema.d.ts');

/** The client types as openapi-typescript makes them from the gateway's current document. */
export function generateApiTypes(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'web-api-'));
  try {
    const doc = path.join(dir, 'openapi.json');
    const json = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/queue-gateway/src/openapi/print-openapi.ts')], { cwd: ROOT, encoding: 'utf8' });
    writeFileSync(doc, json);
    const out = path.join(dir, 'schema.d.ts');
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), doc, '--output', out], { cwd: ROOT, stdio: 'pipe' });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const fresh = generateApiTypes();
  if (process.argv.includes('--check')) {
    const same = readFileSync(SCHEMA_FILE, 'utf8') === fresh;
    console.log(same ? 'apps/web/src/api/schema.d.ts is up to date' : 'apps/web/src/api/schema.d.ts is stale: run node --import tsx apps/web/scripts/generate-api.ts');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(SCHEMA_FILE, fresh);
  console.log(`wrote ${path.relative(ROOT, SCHEMA_FILE)}`);
}
