import { ERROR_CODES, type ErrorCode } from '@ticketing/contracts';
import type { ZodError } from 'zod';

const TITLES: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  traceId?: string;
  [extension: string]: unknown;
}

/**
 * The one error class of the HTTP layer: a stable `code`, mapped to its status by the contracts,
 * rendered as RFC 9457 problem+json by the error middleware. Unknown errors become a plain 500.
 */
export class ProblemError extends Error {
  readonly status: number;
  /** Sent as `Retry-After` (seconds): when a client may usefully try again (429, 503). */
  retryAfterSeconds?: number;
  constructor(
    readonly code: ErrorCode | (string & {}),
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    status?: number,
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.status = status ?? (ERROR_CODES as Record<string, number>)[code] ?? 500;
  }

  /** The same problem, telling the client to try again after `seconds`. */
  retryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(0, Math.ceil(seconds));
    return this;
  }

  toBody(traceId?: string): ProblemBody {
    return {
      type: `https://ticketing.example/problems/${this.code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...this.extensions,
      ...(traceId ? { traceId } : {}),
    };
  }
}

/** Turns a zod failure into a 400 VALIDATION_FAILED listing each offending field. */
export function validationProblem(error: ZodError, where = 'body'): ProblemError {
  const errors = error.issues.map((i) => ({ field: [where, ...i.path].join('.'), message: i.message }));
  return new ProblemError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
}
