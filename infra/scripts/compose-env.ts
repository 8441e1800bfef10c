/**
 * `node --import tsx infra/scripts/compose-env.ts`: writes the secrets docker-compose.yml asks for
 * (admin key, the internal, session and queue signing secrets, the PostgreSQL password) into `.env`
 * next to it, once: random values for the missing ones, existing ones kept. `.env` is ignored by git
 * and readable by its owner only. Prints the names it wrote, never the values.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { completeComposeEnv } from '../stack/compose-env';
import { REPO_ROOT } from '../stack/paths';

const file = path.join(REPO_ROOT, '.env');
const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
const { text, added, refused } = completeComposeEnv(before);
if (added.length) {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  console.log(`[compose-env] wrote ${added.join(', ')} into .env`);
} else {
  console.log('[compose-env] .env already has every secret docker compose asks for; nothing changed');
}
for (const issue of refused) console.error(`[compose-env] the services will refuse .env's ${issue}`);
if (refused.length) process.exitCode = 1;
