import { ERROR_CODES, type ErrorCode } from '@ticketing/contracts';
import { ApiProblem, NETWORK } from '../src/api/problem';
import { inWords } from '../src/api/problems';

describe('refusals in words', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it.each(codes)('%s is said as a sentence, never as its code', (code) => {
    const text = inWords(new ApiProblem(ERROR_CODES[code], code, 'detail from the server'));
    expect(text).not.toContain(code);
    expect(text).toMatch(/^[A-Z].*[.!?…)]$/);
  });

  it('says a code it does not know by the server’s detail, and a server error by a plain sentence', () => {
    expect(inWords(new ApiProblem(409, 'SOMETHING_NEW', 'the seat map changed'))).toBe('The seat map changed.');
    expect(inWords(new ApiProblem(502, 'HTTP_502', 'Bad Gateway'))).toBe('Something went wrong on our side. Please try again.');
    expect(inWords(new ApiProblem(0, NETWORK, ''))).toMatch(/could not reach/);
    expect(inWords(new Error('boom'))).toMatch(/Reload/);
  });

  it('tells when to try again after a rate limit', () => {
    expect(inWords(new ApiProblem(429, 'RATE_LIMITED', 'slow down', {}, 75))).toContain('try again in 1:15');
  });
});
