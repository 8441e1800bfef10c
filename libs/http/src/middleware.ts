import { currentTraceId, Histogram, type Logger, type Registry } from '@ticketing/telemetry';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ZodTypeAny, z } from 'zod';
import { ProblemError, validationProblem } from './problem';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Parses `input` with `schema` or throws 400 VALIDATION_FAILED; the handler never sees bad input. */
export function parseOrThrow<S extends ZodTypeAny>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationProblem(result.error, where);
  return result.data;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ProblemError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/** Maps every error to problem+json. Client mistakes keep their status; anything unknown is a logged 500 with no details. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    let problem: ProblemError;
    if (error instanceof ProblemError) {
      problem = error;
    } else if (error?.type === 'entity.parse.failed') {
      problem = new ProblemError('MALFORMED_JSON', 'the request body is not valid JSON');
    } else if (error?.type === 'entity.too.large') {
      problem = new ProblemError('PAYLOAD_TOO_LARGE', 'the request body is too large');
    } else if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500 && error.expose) {
      problem = new ProblemError('VALIDATION_FAILED', String(error.message), {}, error.status);
    } else {
      logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
      problem = new ProblemError('INTERNAL_ERROR', 'an unexpected error occurred; it has been logged');
    }
    if (problem.retryAfterSeconds !== undefined) res.set('retry-after', String(problem.retryAfterSeconds));
    res.status(problem.status).type(PROBLEM_CONTENT_TYPE).json(problem.toBody(currentTraceId()));
  };
}

/** Request duration histogram by method, route pattern and status. */
export function requestMetrics(registry: Registry): RequestHandler {
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req, res, next) => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
