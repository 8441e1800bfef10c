import { ProblemError } from '@ticketing/http';
import { readChargeRequest } from './charge-request';

const codeOf = (body: unknown) => {
  try {
    readChargeRequest(body, 1_000);
    return 'ok';
  } catch (error) {
    return error instanceof ProblemError ? `${error.status} ${error.code}` : String(error);
  }
};

describe('readChargeRequest', () => {
  it('accepts whole amounts from 1 to MAX_CHARGE', () => {
    expect(readChargeRequest({ amount: 1 }, 1_000)).toEqual({ amount: 1 });
    expect(readChargeRequest({ amount: 1_000 }, 1_000)).toEqual({ amount: 1_000 });
  });

  it.each([
    ['a string', { amount: '5' }],
    ['a fraction', { amount: 1.5 }],
    ['zero', { amount: 0 }],
    ['a negative', { amount: -1 }],
    ['above MAX_CHARGE', { amount: 1_001 }],
    ['huge', { amount: 1e300 }],
    ['null', { amount: null }],
    ['a boolean', { amount: true }],
    ['an object', { amount: { value: 5 } }],
    ['missing', {}],
    ['no body at all', undefined],
    ['missing, with another field', { amout: 5 }],
    ['bad, with another field', { amount: 'x', note: 'hi' }],
  ])('%s → 400 INVALID_AMOUNT', (_label, body) => {
    expect(codeOf(body)).toBe('400 INVALID_AMOUNT');
  });

  it('names the allowed range', () => {
    try {
      readChargeRequest({ amount: 0 }, 1_000);
    } catch (error) {
      expect((error as ProblemError).toBody()).toMatchObject({ code: 'INVALID_AMOUNT', min: 1, max: 1_000 });
    }
    expect.assertions(1);
  });

  it.each([
    ['an unknown field beside a good amount', { amount: 5, currency: 'KRW' }],
    ['an array', [{ amount: 5 }]],
    ['a bare number', 5],
  ])('%s → 400 VALIDATION_FAILED', (_label, body) => {
    expect(codeOf(body)).toBe('400 VALIDATION_FAILED');
  });
});
