import { ProblemError } from './problem';
import { assertAdmittedFor } from './sale-admission';

const A = '0192f7a0-0000-7000-8000-00000000000a';
const B = '0192f7a0-0000-7000-8000-00000000000b';
const USER = '0192f7a0-0000-7000-8000-0000000000ff';

function refusal(run: () => void): { status: number; code: string; extensions: Record<string, unknown> } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    return { status: error.status, code: error.code, extensions: error.extensions };
  }
}

describe('assertAdmittedFor', () => {
  it('lets a fan admitted to the concert’s sale through', () => {
    expect(refusal(() => assertAdmittedFor({ userId: USER, access: 'active', sale: { concertId: A, ticket: 7 } }, A))).toBeUndefined();
  });

  it('refuses a fan admitted to another concert’s sale with 403 WRONG_SALE naming both', () => {
    expect(refusal(() => assertAdmittedFor({ userId: USER, access: 'active', sale: { concertId: B, ticket: 7 } }, A))).toEqual({
      status: 403,
      code: 'WRONG_SALE',
      extensions: { concertId: A, admittedFor: B },
    });
  });

  it('refuses an admission that names no sale, and a date whose concert is unknown, with WRONG_SALE', () => {
    expect(refusal(() => assertAdmittedFor({ userId: USER, access: 'active' }, A))).toMatchObject({ status: 403, code: 'WRONG_SALE', extensions: { admittedFor: null } });
    expect(refusal(() => assertAdmittedFor({ userId: USER, access: 'active', sale: { concertId: A, ticket: 1 } }, null))).toMatchObject({ status: 403, code: 'WRONG_SALE' });
  });

  it('refuses callers that are not admitted at all (even with a sale in the credentials) with 403 FORBIDDEN', () => {
    for (const access of ['public', 'user', 'queue', 'admin'] as const) {
      expect(refusal(() => assertAdmittedFor({ userId: USER, access, sale: { concertId: A, ticket: 1 } }, A))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    }
    expect(refusal(() => assertAdmittedFor(undefined, A))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });
});
