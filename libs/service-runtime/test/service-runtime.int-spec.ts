import { commonSchema, loadConfig } from '@ticketing/config';
import { createDatabase } from '@ticketing/db';
import { createHttpApp } from '@ticketing/http';
import { createMessagingTables, type EventHandlers } from '@ticketing/messaging';
import { createTestDatabase, createTestTopics, deleteTestTopics, testServiceEnv, uniqueName, waitFor, type TestDatabase } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { defineService, type Connection, type RunningService } from '../src';

/**
 * A service of the test's own over the runtime: one route that writes `hold.expired` to the outbox,
 * two features that both take `hold.expired` (each records its effect in the consumer's transaction),
 * two jobs and a connection that record when the runtime starts and stops them.
 */
function testService(journal: string[], { failing }: { failing?: 'start' | 'stop' } = {}) {
  const job = (name: string) => ({
    start: () => {
      if (failing === 'start' && name === 'second') throw new Error('second job cannot start');
      journal.push(`${name} started`);
    },
    stop: async () => {
      journal.push(`${name} stopped`);
      if (failing === 'stop' && name === 'second') throw new Error('second job cannot stop');
    },
  });
  const effect =
    (feature: string): EventHandlers =>
    ({
      'hold.expired': async (event, { trx }) => {
        await trx('effects').insert({ feature, event_id: event.id });
      },
    }) as EventHandlers;
  return defineService({
    name: 'runtime-test',
    settings: (env) => {
      const common = loadConfig(commonSchema, env);
      return { ...common, service: 'runtime-test', port: 0, databaseUrl: common.DATABASE_URL! };
    },
    connections: () => ({
      cache: {
        client: 'a client',
        connect: async () => void journal.push('cache connected'),
        check: async () => undefined,
        close: () => void journal.push('cache closed'),
      } satisfies Connection<string>,
    }),
    wire: ({ logger, metrics, readiness, db, outbox }) => ({
      http: createHttpApp({ logger, metrics, readiness, separateOperations: true }, (app) => {
        app.post('/expire', async (_req, res) => {
          const [envelope] = await db.transaction((trx) =>
            outbox.append(trx, {
              type: 'hold.expired',
              key: 'seat-1',
              payload: { reservationId: randomUUID(), scheduleId: randomUUID(), seatNo: 1, userId: randomUUID(), seatVersion: 1 },
            }),
          );
          res.status(201).json({ eventId: envelope.id });
        });
      }),
      ops: { port: 0, host: '127.0.0.1' },
      consumers: [effect('seat-map'), effect('saga')],
      jobs: { first: job('first'), second: job('second') },
      beforeClose: [() => void journal.push('streams closed')],
    }),
  });
}

describe('service runtime', () => {
  let database: TestDatabase;
  let prefix: string;
  let journal: string[];
  let steps: string[];
  let running: RunningService<unknown, unknown, unknown> | undefined;
  /** What /health/ready on the operations port answered while the jobs were stopping. */
  let readyWhileStopping: { status: number; body: { status: string } } | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('runtime');
    await createMessagingTables(database.db);
    await database.db.schema.createTable('effects', (t) => {
      t.text('feature').notNullable();
      t.uuid('event_id').notNullable();
    });
    prefix = `${uniqueName('runtime')}.`;
    await createTestTopics(prefix);
  });

  afterAll(async () => {
    await running?.stop();
    await database.drop();
    await deleteTestTopics(prefix);
  });

  beforeEach(async () => {
    journal = [];
    steps = [];
    const service = testService(journal);
    const started = await service.start({
      env: testServiceEnv('wallet', { databaseUrl: database.url, topicPrefix: prefix, overrides: { OUTBOX_POLL_INTERVAL_MS: '100', VACUUM_INTERVAL_MS: '0' } }),
      onStep: (step) => {
        steps.push(step);
        journal.push(step);
      },
    });
    // The second job's stop looks at what a load balancer's probe sees at that moment.
    const stopSecond = started.parts.jobs.second.stop;
    started.parts.jobs.second.stop = async () => {
      const res = await fetch(`http://127.0.0.1:${started.opsPort}/health/ready`);
      readyWhileStopping = { status: res.status, body: (await res.json()) as { status: string } };
      await stopSecond();
    };
    running = started;
  });

  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('starts in one order and shuts down in the one order, the operations port answering "shutting-down" until the end', async () => {
    expect(journal).toEqual([
      'start:connection:cache',
      'cache connected',
      'start:relay',
      'start:job:vacuum',
      'start:job:first',
      'first started',
      'start:job:second',
      'second started',
      'start:consumer',
      'start:ops',
      'start:http',
    ]);
    const { url, opsPort } = running!;
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    journal.length = 0;

    await running!.stop();
    expect(journal).toEqual([
      'stop:mark-shutting-down',
      'stop:before-close-1',
      'streams closed',
      'stop:http',
      'stop:consumer',
      'stop:job:second',
      'second stopped',
      'stop:job:first',
      'first stopped',
      'stop:job:vacuum',
      'stop:relay',
      'stop:kafka-check',
      'stop:connection:cache',
      'cache closed',
      'stop:database',
      'stop:ops',
    ]);
    expect(readyWhileStopping).toEqual({ status: 503, body: expect.objectContaining({ status: 'shutting-down' }) });
    // Everything it opened is closed: both ports refuse, the pool is gone.
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${opsPort}/health/live`)).rejects.toThrow();
    await expect(running!.db.raw('select 1')).rejects.toThrow();
    // A second stop is the same shutdown, not another one.
    await running!.stop();
    expect(journal.filter((line) => line === 'stop:database')).toHaveLength(1);
  });

  it('runs both features that take one event: the event goes out through the relay and the one consumer applies both in one transaction', async () => {
    const res = await fetch(`${running!.url}/expire`, { method: 'POST' });
    expect(res.status).toBe(201);
    const { eventId } = (await res.json()) as { eventId: string };
    await waitFor(async () => (await database.db('effects').where({ event_id: eventId })).length === 2, { label: 'both features applied', timeoutMs: 30_000 });
    expect((await database.db('effects').where({ event_id: eventId }).pluck('feature')).sort()).toEqual(['saga', 'seat-map']);
    expect(await database.db('processed_messages').where({ consumer: running!.groupId, message_id: eventId })).toHaveLength(1);
  });

  it('is ready while its database answers and not while it does not; the broker is shown but never gates', async () => {
    const ops = `http://127.0.0.1:${running!.opsPort}`;
    const ready = await fetch(`${ops}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: { status: 'up' }, cache: { status: 'up' } } });
    const details = (await (await fetch(`${ops}/health/details`)).json()) as { checks: Record<string, { gatesReadiness: boolean }> };
    expect(details.checks.kafka).toEqual(expect.objectContaining({ gatesReadiness: false }));
    expect(details.checks.postgres).toEqual(expect.objectContaining({ status: 'up', gatesReadiness: true }));

    const admin = createDatabase({ url: new URL('/postgres', database.url).toString(), poolMax: 1 });
    try {
      await admin.raw(`alter database "${database.name}" allow_connections false`);
      await admin.raw(`select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()`, [database.name]);
      await waitFor(async () => (await fetch(`${ops}/health/ready`)).status === 503, { label: 'not ready without its database', timeoutMs: 20_000 });
      const down = (await (await fetch(`${ops}/health/ready`)).json()) as { status: string; checks: Record<string, { status: string }> };
      expect(down.status).toBe('not-ready');
      expect(down.checks.postgres.status).toBe('down');
    } finally {
      await admin.raw(`alter database "${database.name}" allow_connections true`);
      await admin.destroy();
    }
    await waitFor(async () => (await fetch(`${ops}/health/ready`)).status === 200, { label: 'ready again with its database', timeoutMs: 20_000 });
  });

  describe('when a step fails', () => {
    const env = () => testServiceEnv('wallet', { databaseUrl: database.url, topicPrefix: prefix, overrides: { VACUUM_INTERVAL_MS: '0' } });

    it('a failed start undoes what had started, in the shutdown order, and rethrows', async () => {
      const log: string[] = [];
      await expect(testService(log, { failing: 'start' }).start({ env: env(), onStep: (step) => log.push(step) })).rejects.toThrow('second job cannot start');
      expect(log).toEqual([
        'start:connection:cache',
        'cache connected',
        'start:relay',
        'start:job:vacuum',
        'start:job:first',
        'first started',
        'start:job:second',
        // Nothing after the failure starts; what did is stopped (jobs' stops are safe unstarted).
        'stop:mark-shutting-down',
        'stop:before-close-1',
        'streams closed',
        'stop:job:second',
        'second stopped',
        'stop:job:first',
        'first stopped',
        'stop:job:vacuum',
        'stop:relay',
        'stop:kafka-check',
        'stop:connection:cache',
        'cache closed',
        'stop:database',
      ]);
    });

    it('a failing shutdown step is reported and the steps after it still run', async () => {
      const log: string[] = [];
      const started = await testService(log, { failing: 'stop' }).start({ env: env(), onStep: (step) => log.push(step) });
      log.length = 0;
      await expect(started.stop()).rejects.toThrow('second job cannot stop');
      expect(log.slice(log.indexOf('second stopped'))).toEqual([
        'second stopped',
        'stop:job:first',
        'first stopped',
        'stop:job:vacuum',
        'stop:relay',
        'stop:kafka-check',
        'stop:connection:cache',
        'cache closed',
        'stop:database',
        'stop:ops',
      ]);
      await expect(started.db.raw('select 1')).rejects.toThrow();
    });
  });
});
