import { z, type ZodTypeAny } from 'zod';
import { ProblemError } from './problem';

/**
 * Keyset cursors: the sort key of the last item of a page (e.g. its exact `created_at` text and
 * id), base64url-encoded JSON. Opaque to clients; a cursor that is not one we could have made is a
 * 400, checked here in full so that no forged value ever reaches SQL.
 */
export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether the fields of a TIMESTAMP_TEXT match name an instant PostgreSQL accepts (no month 13, no 30 February, offsets within ±15:59). */
function isPossibleInstant(text: string): boolean {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f))) as number[];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1])) return false;
  return hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 15 && offsetMinutes <= 59;
}

/** What the parts of a cursor may be: PostgreSQL's text of a timestamptz (`created_at::text`), a uuid. */
export const CURSOR_PARTS = {
  timestamp: z.string().regex(TIMESTAMP_TEXT, 'not a timestamp').refine(isPossibleInstant, 'not a possible date and time'),
  uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'not a uuid'),
} satisfies Record<string, z.ZodType<string>>;

/** A cursor's text: canonical unpadded base64url (as `encodeCursor` writes it) of JSON, parsed. */
const cursorJson = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'not base64url')
  .transform((text, ctx) => {
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.toString('base64url') !== text) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not base64url' });
      return z.NEVER;
    }
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not JSON' });
      return z.NEVER;
    }
  });

/**
 * The key a cursor carries: exactly one value per part, each a string its part's schema accepts
 * (no other types, no extra items); else 400 VALIDATION_FAILED, never a database error.
 */
export function decodeCursor(cursor: string, parts: [ZodTypeAny, ...ZodTypeAny[]]): string[] {
  const result = cursorJson.pipe(z.tuple(parts)).safeParse(cursor);
  if (result.success) return result.data as string[];
  const reason = result.error.issues[0]?.message ?? 'malformed';
  throw new ProblemError('VALIDATION_FAILED', `query.cursor: not a cursor from nextCursor (${reason})`, {
    errors: [{ field: 'query.cursor', message: `not a cursor from nextCursor (${reason})` }],
  });
}
