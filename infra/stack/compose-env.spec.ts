import { DEV_SECRETS, resolveSecrets } from '@ticketing/config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { completeComposeEnv, COMPOSE_SECRETS } from './compose-env';
import { REPO_ROOT } from './paths';

const parse = (text: string) => Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('compose secrets (.env written once)', () => {
  it('writes every secret compose asks for, each one the services accept in production, and nothing more the second time', () => {
    const first = completeComposeEnv('');
    expect(first.added).toEqual([...COMPOSE_SECRETS]);
    expect(first.refused).toEqual([]);
    const values = parse(first.text);
    expect(Object.keys(values).sort()).toEqual([...COMPOSE_SECRETS].sort());
    expect(new Set(Object.values(values)).size).toBe(COMPOSE_SECRETS.length);
    for (const value of Object.values(values)) expect(value).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(() => resolveSecrets({ NODE_ENV: 'production', ...values }, ['ADMIN_API_KEY', 'INTERNAL_AUTH_SECRET', 'SESSION_JWT_SECRET', 'QUEUE_JWT_SECRET'])).not.toThrow();

    const second = completeComposeEnv(first.text);
    expect(second).toEqual({ text: first.text, added: [], refused: [] });
  });

  it('keeps values already there, adds the missing ones, and names those the services would refuse', () => {
    const own = 'LOG_LEVEL=debug\nADMIN_API_KEY=an-admin-key-of-my-own-that-is-long-enough\nSESSION_JWT_SECRET=' + DEV_SECRETS.SESSION_JWT_SECRET;
    const result = completeComposeEnv(own, () => 'r'.repeat(64));
    expect(result.added).toEqual(['INTERNAL_AUTH_SECRET', 'QUEUE_JWT_SECRET', 'POSTGRES_PASSWORD']);
    expect(result.text.startsWith(`${own}\n`)).toBe(true);
    expect(parse(result.text)).toMatchObject({ ADMIN_API_KEY: 'an-admin-key-of-my-own-that-is-long-enough', QUEUE_JWT_SECRET: 'r'.repeat(64) });
    expect(result.refused).toEqual([expect.stringMatching(/^SESSION_JWT_SECRET: is a development value/)]);
  });
});

describe('docker-compose.yml', () => {
  const compose = fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');

  it('writes no secret into the file: each one is asked for (${NAME:?...}), none has a default', () => {
    for (const name of COMPOSE_SECRETS) {
      const uses = compose.match(new RegExp(`\\$\\{${name}[^}]*\\}`, 'g')) ?? [];
      expect({ name, used: uses.length > 0 }).toEqual({ name, used: true });
      for (const use of uses) expect({ name, use, asked: use.startsWith(`\${${name}:?`) }).toEqual({ name, use, asked: true });
    }
    for (const value of Object.values(DEV_SECRETS)) expect(compose).not.toContain(value);
    expect(compose).not.toMatch(/dev-only|dev-postgres-password/);
  });

  it('does not override NODE_ENV (the image runs in production mode)', () => {
    expect(compose).not.toMatch(/^\s*NODE_ENV\s*:/m);
  });
});
