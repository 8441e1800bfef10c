import { ApiProblem, NETWORK } from './problem';
import { clock } from '../lib/format';

/**
 * Every refusal in plain words. The API's codes are stable (libs/contracts/src/errors.ts); a code
 * not listed here falls back to the server's own sentence, never to the raw code.
 */
const WORDS: Record<string, string> = {
  [NETWORK]: 'We could not reach the ticket office. Check your connection and try again.',
  VALIDATION_FAILED: 'Some of what you entered is not valid. Check the form and try again.',
  MALFORMED_JSON: 'Something went wrong sending that. Please try again.',
  INVALID_AMOUNT: 'Enter a whole number of won, at least 1.',
  INSUFFICIENT_BALANCE: 'Your wallet does not have enough money for this seat.',
  UNAUTHENTICATED: 'Please log in first.',
  SESSION_TOKEN_INVALID: 'Your log-in is no longer valid. Please log in again.',
  SESSION_EXPIRED: 'You were logged out after a while. Please log in again.',
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  QUEUE_TOKEN_MISSING: 'Join the line for this concert first.',
  QUEUE_TOKEN_INVALID: 'Your place in line is not valid any more. Join the line again.',
  QUEUE_TOKEN_EXPIRED: 'Your time to buy ran out (or you finished or left), so your place went to the next fan. Join the line again to continue.',
  NOT_ADMITTED: 'It is not your turn yet: you are still in the line.',
  WRONG_SALE: 'Your place in line is for another concert. Join the line for this one.',
  PROOF_OF_WORK_REQUIRED: 'This sale asks your browser to solve a small puzzle first. Please try again.',
  NOT_FOUND: 'We could not find that. It may have been removed.',
  SALE_NOT_FOUND: 'Tickets for this concert are not on sale yet.',
  SALE_NOT_OPEN: 'The line for this concert has not opened yet.',
  EMAIL_TAKEN: 'There is already an account with this email. Log in instead.',
  SEAT_UNAVAILABLE: 'Someone else just took this seat. Please pick another one.',
  HOLD_LIMIT_REACHED: 'You are already holding as many seats as one fan may for this date.',
  HOLD_EXPIRED: 'Your hold on this seat ran out before the payment went through.',
  RESERVATION_NOT_CANCELLABLE: 'This hold can no longer be cancelled: it has already ended.',
  BOOKING_CLOSED: 'Booking for this date has closed.',
  IDEMPOTENCY_KEY_IN_FLIGHT: 'We are still working on your last request. Wait a moment.',
  DUPLICATE_PAYMENT: 'This seat is already being paid for.',
  IDEMPOTENCY_KEY_REUSED: 'Something went wrong sending that. Please try again.',
  RATE_LIMITED: 'Too many tries in a short time. Wait a little and try again.',
  SERVICE_UNAVAILABLE: 'The ticket office is busy for a moment. Please try again shortly.',
  HOLD_NOT_YET_KNOWN: 'Your hold is still on its way through our system. Trying again…',
  UPSTREAM_TIMEOUT: 'The ticket office took too long to answer. Please try again.',
  INTERNAL_ERROR: 'Something went wrong on our side. Please try again.',
};

export function inWords(error: unknown): string {
  if (!(error instanceof ApiProblem)) return 'Something went wrong in this page. Reload it to try again.';
  let text = WORDS[error.code];
  if (!text) {
    if (error.status >= 500) text = WORDS.INTERNAL_ERROR;
    else text = error.detail && !/^[A-Z_]+$/.test(error.detail) ? sentence(error.detail) : 'That did not work. Please try again.';
  }
  if (error.retryAfterSeconds && (error.code === 'RATE_LIMITED' || error.status === 503)) text += ` (try again in ${clock(error.retryAfterSeconds)})`;
  return text;
}

function sentence(detail: string): string {
  const s = detail.trim();
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;
}

/** Codes that mean the session is gone: the fan must log in again. */
export const SESSION_GONE = new Set(['UNAUTHENTICATED', 'SESSION_TOKEN_INVALID', 'SESSION_EXPIRED']);
/** Codes that mean the place in line is gone or not for this: back to the line. */
export const PLACE_GONE = new Set(['QUEUE_TOKEN_MISSING', 'QUEUE_TOKEN_INVALID', 'QUEUE_TOKEN_EXPIRED', 'NOT_ADMITTED', 'WRONG_SALE']);
