import { allTopics } from '@ticketing/contracts';
import { createDatabase } from '@ticketing/db';
import { testKafka, testServers, waitFor } from '@ticketing/testing';
import Redis from 'ioredis';
import { call, configureSale, expectStatus, lineUp, signUpAndLogIn } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * The harness itself, since the fault tests rely on it: a SIGKILLed service comes back on the same
 * port with the same database, and `stop()` leaves nothing behind (processes, databases, topics, keys).
 */

jest.setTimeout(120_000);

describe('system harness', () => {
  let system: RunningSystem | undefined;

  afterAll(async () => {
    await system?.stop();
  });

  it('restarts a SIGKILLed service on its port and database, and stop() removes everything it made', async () => {
    system = await startSystem({ label: 'e2e_harness' });
    const { api } = system;
    const fan = await signUpAndLogIn(api, 'Harness');
    const concert = await call<{ concertId: string }>(`${api}/admin/concerts`, { method: 'POST', headers: { 'x-admin-key': system.adminKey }, body: { title: 'Harness Night', artist: 'Harness', venue: 'Hall' } });
    await configureSale(api, system.adminKey, concert.body.concertId);
    await lineUp(api, fan, concert.body.concertId);

    const before = system.processes()['queue-gateway'];
    await system.kill('queue-gateway');
    expect(before.child.signalCode).toBe('SIGKILL');
    expect(system.isRunning('queue-gateway')).toBe(false);
    await expect(fetch(`${api}/concerts`)).rejects.toThrow();

    await system.restart('queue-gateway');
    expect(system.isRunning('queue-gateway')).toBe(true);
    expect(system.processes()['queue-gateway']).not.toBe(before);
    // Same database: the account made before the kill logs in; same Redis prefix: the same place in line.
    const again = expectStatus(await call<{ userId: string }>(`${api}/sessions`, { method: 'POST', body: { email: fan.email, password: 'correct horse battery' } }), 200, 'log in after restart');
    expect(again.body.userId).toBe(fan.userId);
    expectStatus(await call(`${api}/queue/status`, { fan }), 200, 'queue status after restart');

    // A running service is restarted too (stopped first; gracefully here, which is quicker).
    await system.restart('reservation', { env: { HOLD_TTL_SECONDS: '7' }, signal: 'SIGTERM' });
    expect(system.output('reservation')).toContain('--- reservation restarted ---');
    expect((await fetch(`${system.urls.reservation}/health/ready`)).status).toBe(200);

    const processes = Object.values(system.processes());
    const databases = Object.values(system.services).map((s) => s.database.name);
    const { topicPrefix, queueKeyPrefix } = system;
    await system.stop();
    system = undefined;

    expect(processes.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)).toBe(true);
    const admin = createDatabase({ url: testServers().DATABASE_URL, poolMax: 1 });
    try {
      const left = await admin('pg_database').whereIn('datname', databases).select('datname');
      expect(left).toEqual([]);
    } finally {
      await admin.destroy();
    }
    const kafka = testKafka().admin();
    await kafka.connect();
    try {
      const ours = new Set(allTopics(topicPrefix).map((t) => t.name));
      // Deletion reaches the broker's metadata a moment after the controller accepted it.
      await waitFor(async () => (await kafka.listTopics()).every((t) => !ours.has(t)), { timeoutMs: 10_000, label: 'topics deleted' });
    } finally {
      await kafka.disconnect();
    }
    const redis = new Redis(testServers().REDIS_URL);
    try {
      expect(await redis.keys(`{${queueKeyPrefix}}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
