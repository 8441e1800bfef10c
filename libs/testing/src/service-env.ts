import { childEnvironment, SERVICES, type ServiceName } from '@ticketing/config';

/**
 * The environment a service started in-process by a test runs with (see the service runtime's
 * `start({ env })`): this process's settings (where the servers are), the test's own database and
 * topic prefix, any free port, no logs, a short shutdown (requests in flight get 1 s), then `overrides`.
 */
export function testServiceEnv(
  service: ServiceName,
  { databaseUrl, topicPrefix = '', overrides = {} }: { databaseUrl: string; topicPrefix?: string; overrides?: Record<string, string | undefined> },
): NodeJS.ProcessEnv {
  return childEnvironment({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    [SERVICES[service].portVar]: '0',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...overrides,
  });
}
