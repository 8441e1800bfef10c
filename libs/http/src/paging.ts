import { ProblemError } from './problem';

/**
 * Keyset cursors: the sort key of the last item of a page (e.g. its exact `created_at` text and
 * id), base64url-encoded JSON. Opaque to clients; a cursor that does not decode is a 400.
 */
export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** What the parts of a cursor may look like: PostgreSQL's text of a timestamptz, a uuid. */
export const CURSOR_PARTS = {
  timestamp: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
};

/** The key a cursor carries, each part matching its pattern; else 400 VALIDATION_FAILED (never a database error). */
export function decodeCursor(cursor: string, parts: RegExp[]): string[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === parts.length && key.every((k, i) => typeof k === 'string' && parts[i].test(k))) return key as string[];
  } catch {
    // fall through
  }
  throw new ProblemError('VALIDATION_FAILED', 'query.cursor: not a cursor from nextCursor', { errors: [{ field: 'query.cursor', message: 'not a cursor from nextCursor' }] });
}
