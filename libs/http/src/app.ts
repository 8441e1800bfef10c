import { ensureTraceContext, type Logger, type Registry } from '@ticketing/telemetry';
import express, { type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { createHealth, type ReadinessCheck } from './health';
import type { InternalAuth } from './internal-auth';
import { notFoundHandler, problemHandler, requestMetrics } from './middleware';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Largest JSON body (bytes, or a size such as '16kb'); 413 beyond. */
  bodyLimit?: string | number;
  /** Internal services: refuse every route but health and metrics unless the gateway signed the call. */
  internalAuth?: InternalAuth;
  /** Routes that must see the raw body stream (a proxy), mounted before JSON parsing. */
  mountBeforeBodyParsing?: (app: Express) => void;
  /**
   * The few routes a crowd calls many times a second (the gateway's status poll), mounted ahead of
   * the request log and every other router: they keep their metrics and problem answers, but write no
   * access line (at thousands a second, the per-request logger is a sizeable share of their cost).
   */
  mountFirst?: (app: Express) => void;
  /**
   * Serve readiness, health details and metrics only on `ops` (the gateway: they query its servers
   * and describe its insides, so they are not for its public port); `/health/live` stays on the app.
   */
  separateOperations?: boolean;
}

export interface HttpApp {
  app: Express;
  /** Makes /health/ready answer 503 so load balancers stop sending traffic before we close. */
  markShuttingDown(): void;
  /** Health and metrics alone, for an operations port of its own (see `separateOperations`). */
  ops: Express;
}

/**
 * The common shape of every service's HTTP app: health, metrics, JSON body parsing, request logs,
 * then the service's routes (`mount`), then 404 and problem+json errors. Does not listen.
 */
export function createHttpApp(options: HttpAppOptions, mount: (app: Express) => void): HttpApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(ensureTraceContext);
  const health = createHealth(options.readiness);
  const metrics: RequestHandler = async (_req, res) => {
    res.type(options.metrics.contentType).send(await options.metrics.metrics());
  };
  const ops = express();
  ops.disable('x-powered-by');
  ops.use(health.router);
  ops.get('/metrics', metrics);
  ops.use(notFoundHandler);
  ops.use(problemHandler(options.logger));
  if (options.separateOperations) {
    // The health router answers the one path it is given here (a route handler sees the whole path).
    app.get('/health/live', health.router);
  } else {
    app.use(health.router);
    app.get('/metrics', metrics);
  }
  app.use(requestMetrics(options.metrics));
  options.mountFirst?.(app);
  app.use(
    pinoHttp({
      logger: options.logger,
      autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
      // Successful requests at debug: at thousands of requests a second an info line each costs more
      // than the request; client errors stay visible at info, server errors at error.
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      // pino serializes a child logger's bindings when it is made, i.e. for every request whether its
      // line is written or not; the default request serializer (every header, then redaction) was a
      // seventh of the gateway's CPU per request. Method, path and id say which request it was.
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      wrapSerializers: false,
    }),
  );
  if (options.internalAuth) app.use(options.internalAuth.requireGatewayCredentials());
  options.mountBeforeBodyParsing?.(app);
  app.use(express.json({ limit: options.bodyLimit ?? '16kb' }));
  mount(app);
  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return { app, markShuttingDown: health.markShuttingDown, ops };
}
