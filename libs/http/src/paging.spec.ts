import { CURSOR_PARTS, decodeCursor, encodeCursor } from './paging';
import { ProblemError } from './problem';

describe('keyset cursors', () => {
  const parts: Parameters<typeof decodeCursor>[1] = [CURSOR_PARTS.timestamp, CURSOR_PARTS.uuid];
  const id = '0b7a3c2e-51f4-4d0a-9a63-3f1e2d4c5b6a';
  const key = ['2026-11-21 07:41:00.123456+00', id];
  const raw = (text: string) => Buffer.from(text).toString('base64url');
  /** Base64url of `text` with unused low bits set in its last character: it decodes, but no encoder writes it. */
  const strayBits = (text: string) => {
    const canonical = raw(text);
    return canonical.slice(0, -1) + String.fromCharCode(canonical.charCodeAt(canonical.length - 1) + 1);
  };

  it('round-trips a key', () => {
    expect(decodeCursor(encodeCursor(key), parts)).toEqual(key);
  });

  it.each([
    ['a leap day', '2024-02-29 23:59:59+00'],
    ['the last day of a 30-day month', '2026-04-30 00:00:00+00'],
    ['an offset with minutes', '2026-11-21 07:41:00.5+05:30'],
    ['the widest offset', '2026-11-21 07:41:00-15:59'],
    ['year 0001', '0001-01-01 00:00:00+00'],
  ])('accepts %s', (_name, timestamp) => {
    expect(decodeCursor(encodeCursor([timestamp, id]), parts)).toEqual([timestamp, id]);
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['characters outside base64url', `${encodeCursor(key)}!`],
    ['padded base64', `${encodeCursor(key)}==`],
    ['base64 with stray trailing bits', strayBits(`${JSON.stringify(key)} `)],
    ['an object instead of the key', raw(JSON.stringify({ t: key[0], id }))],
    ['a wrong number of parts', encodeCursor([key[0]])],
    ['an extra part', encodeCursor([...key, 'more'])],
    ['a number for a part', raw(JSON.stringify([1732174860, id]))],
    ['null for a part', raw(JSON.stringify([null, id]))],
    ['a part that is not a timestamp', encodeCursor(["2026-11-21'; drop table x", id])],
    ['month 13', encodeCursor(['2026-13-01 00:00:00+00', id])],
    ['month 00', encodeCursor(['2026-00-10 00:00:00+00', id])],
    ['30 February', encodeCursor(['2026-02-30 00:00:00+00', id])],
    ['29 February of a common year', encodeCursor(['2026-02-29 00:00:00+00', id])],
    ['31 April', encodeCursor(['2026-04-31 00:00:00+00', id])],
    ['day 00', encodeCursor(['2026-04-00 00:00:00+00', id])],
    ['year 0000', encodeCursor(['0000-01-01 00:00:00+00', id])],
    ['hour 24', encodeCursor(['2026-01-01 24:00:01+00', id])],
    ['minute 60', encodeCursor(['2026-01-01 23:60:00+00', id])],
    ['second 60', encodeCursor(['2026-01-01 23:59:60+00', id])],
    ['an offset of 16 hours', encodeCursor(['2026-01-01 00:00:00+16', id])],
    ['an offset of 60 minutes', encodeCursor(['2026-01-01 00:00:00+15:60', id])],
    ['a part that is not a uuid', encodeCursor([key[0], 'x'])],
  ])('refuses %s with 400 VALIDATION_FAILED', (_name, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor, parts);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProblemError);
    expect(thrown).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});
