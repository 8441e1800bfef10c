import { migrateLatest } from '@ticketing/db';
import { createTestDatabase, createTestTopics, deleteTaggedKeys, deleteTestTopics, runTsProcess, testServers, uniqueName, type TestDatabase, type TestProcess } from '@ticketing/testing';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import path from 'node:path';

/**
 * The gateway as it runs (apps/queue-gateway/src/main.ts as a real process, on real PostgreSQL, Redis
 * and Kafka), with the defaults that matter here: the operations port on loopback, tracing on with
 * the gateway's own sampling. Public port on 0.0.0.0, as in a container, so the test can also knock
 * on the operations port from a non-loopback address.
 */
describe('gateway process: operations port and the entrance of traces (real servers)', () => {
  let database: TestDatabase;
  let gateway: TestProcess;
  let publicPort: number;
  let opsPort: number;
  const topicPrefix = `${uniqueName('gwproc')}.`;
  const queueKeyPrefix = uniqueName('gwproc_wr');

  beforeAll(async () => {
    const servers = testServers();
    database = await createTestDatabase('gwproc', 2);
    await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
    await createTestTopics(topicPrefix);
    gateway = runTsProcess(path.join('apps', 'queue-gateway', 'src', 'main.ts'), {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '0.0.0.0',
      GATEWAY_PORT: '0',
      GATEWAY_OPS_PORT: '0',
      GATEWAY_OPS_HOST: undefined,
      DATABASE_URL: database.url,
      REDIS_URL: servers.REDIS_URL,
      KAFKA_BROKERS: servers.KAFKA_BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: topicPrefix,
      QUEUE_KEY_PREFIX: queueKeyPrefix,
      // The gateway records nothing of its own accord: a client's sampled flag must not change that.
      TRACE_SAMPLE_RATIO: '0',
      OTEL_SDK_DISABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
    });
    const line = await gateway.waitForOutput(/queue-gateway listening/, 60_000);
    ({ port: publicPort, opsPort } = JSON.parse(line) as { port: number; opsPort: number });
  }, 90_000);

  afterAll(async () => {
    await gateway?.kill('SIGKILL');
    await deleteTestTopics(topicPrefix).catch(() => undefined);
    const redis = new Redis(testServers().REDIS_URL);
    await deleteTaggedKeys(redis, queueKeyPrefix).finally(() => redis.disconnect());
    await database?.drop();
  });

  const get = async (port: number, urlPath: string, host = '127.0.0.1', headers: Record<string, string> = {}) => {
    const res = await fetch(`http://${host}:${port}${urlPath}`, { headers, signal: AbortSignal.timeout(5_000) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', traceresponse: res.headers.get('traceresponse'), text: await res.text() };
  };

  it('answers only /health/live on the public port: readiness, health details and metrics are 404 there', async () => {
    expect((await get(publicPort, '/health/live')).status).toBe(200);
    for (const urlPath of ['/health/ready', '/health/details', '/metrics']) {
      const answer = await get(publicPort, urlPath);
      expect({ urlPath, status: answer.status, type: answer.type }).toEqual({ urlPath, status: 404, type: expect.stringContaining('application/problem+json') });
      expect(answer.text).not.toMatch(/postgres|redis|kafka|process_cpu/);
    }
  });

  it('serves readiness and metrics on the operations port', async () => {
    const ready = await get(opsPort, '/health/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', checks: { postgres: { status: 'up' }, redis: { status: 'up' } } });
    const metrics = await get(opsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^process_cpu_seconds_total/m);
    expect((await get(opsPort, '/health/live')).status).toBe(200);
    // Nothing of the public API there.
    expect((await get(opsPort, '/api/v1/concerts')).status).toBe(404);
  });

  it('binds the operations port to loopback by default, while the public port takes any address', async () => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
    if (!outside) throw new Error('this machine has no non-loopback IPv4 address to test the binding from');
    expect((await get(publicPort, '/health/live', outside)).status).toBe(200);
    await expect(get(opsPort, '/health/ready', outside)).rejects.toThrow();
  });

  it("neither follows a client's sampled traceparent nor shows its trace id: the gateway starts its own trace and samples by its own ratio", async () => {
    const clientTraceId = randomBytes(16).toString('hex');
    const traceparent = `00-${clientTraceId}-${randomBytes(8).toString('hex')}-01`;
    // A problem answer (no session) names the trace it belongs to.
    const answer = await get(publicPort, '/api/v1/wallet', '127.0.0.1', { traceparent });
    expect(answer.status).toBe(401);
    const problem = JSON.parse(answer.text) as { code: string; traceId: string };
    const [, traceId, , flags] = (answer.traceresponse ?? '').split('-');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(clientTraceId);
    expect(problem.traceId).toBe(traceId);
    expect(answer.text).not.toContain(clientTraceId);
    // TRACE_SAMPLE_RATIO=0: not recorded, whatever the client's flag said.
    expect(flags).toBe('00');
  });
});
