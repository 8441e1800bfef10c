import { ConfigError, resolveSecrets } from '@ticketing/config';
import { randomBytes } from 'node:crypto';

/** The secrets docker-compose.yml asks for (it refuses to start without each). */
export const COMPOSE_SECRETS = ['ADMIN_API_KEY', 'INTERNAL_AUTH_SECRET', 'SESSION_JWT_SECRET', 'QUEUE_JWT_SECRET', 'POSTGRES_PASSWORD'] as const;

/** 48 random bytes, base64url: 64 characters, safe inside a URL (POSTGRES_PASSWORD goes into URLs). */
export const randomSecret = (): string => randomBytes(48).toString('base64url');

/** The names an env file (`NAME=value` lines; comments and blanks ignored) gives a non-empty value. */
function definedNames(text: string): Map<string, string> {
  const defined = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && match[2] !== '' && match[2] !== '""' && match[2] !== "''") defined.set(match[1], match[2].replace(/^(['"])(.*)\1$/, '$2'));
  }
  return defined;
}

/**
 * The env file with every missing compose secret appended (random), and what it added. Values
 * already there are kept as they are (they are someone's choice), but each one the services would
 * refuse in production (a development value, under 32 bytes) is named in `refused`.
 */
export function completeComposeEnv(text: string, random: () => string = randomSecret): { text: string; added: string[]; refused: string[] } {
  const defined = definedNames(text);
  const added = COMPOSE_SECRETS.filter((name) => !defined.has(name));
  const lines = added.map((name) => `${name}=${random()}`);
  if (text === '' && lines.length) lines.unshift('# Secrets for docker compose, written once by infra/scripts/compose-env.ts. Keep this file private.');
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  const appended = lines.length ? `${text}${separator}${lines.join('\n')}\n` : text;

  const kept = Object.fromEntries([...defined].filter(([name]) => !added.includes(name as never)));
  let refused: string[] = [];
  try {
    resolveSecrets({ NODE_ENV: 'production', ...kept }, ['ADMIN_API_KEY', 'INTERNAL_AUTH_SECRET', 'SESSION_JWT_SECRET', 'QUEUE_JWT_SECRET'].filter((name) => name in kept) as never[]);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    refused = error.issues;
  }
  return { text: appended, added, refused };
}
