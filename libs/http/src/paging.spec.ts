import { CURSOR_PARTS, decodeCursor, encodeCursor } from './paging';
import { ProblemError } from './problem';

describe('keyset cursors', () => {
  const parts = [CURSOR_PARTS.timestamp, CURSOR_PARTS.uuid];
  const key = ['2026-11-21 07:41:00.123456+00', '0b7a3c2e-51f4-4d0a-9a63-3f1e2d4c5b6a'];

  it('round-trips a key', () => {
    expect(decodeCursor(encodeCursor(key), parts)).toEqual(key);
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['a wrong number of parts', encodeCursor([key[0]])],
    ['a part that is not a timestamp', encodeCursor(["2026-11-21'; drop table x", key[1]])],
    ['a part that is not a uuid', encodeCursor([key[0], 'x'])],
  ])('refuses %s with 400 VALIDATION_FAILED', (_name, cursor) => {
    expect(() => decodeCursor(cursor, parts)).toThrow(ProblemError);
    try {
      decodeCursor(cursor, parts);
    } catch (error) {
      expect((error as ProblemError).code).toBe('VALIDATION_FAILED');
    }
  });
});
