import { startRedisCluster, type PrivateRedisCluster } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { waitingRoomKeys } from '../src/waiting-room/waiting-room.scripts';
import { call, createGatewayHarness, type GatewayHarness } from './gateway.harness';

/**
 * REDIS_CLUSTER_NODES: the gateway on a 3-master Redis Cluster of the test's own (this machine's
 * redis-server in cluster mode). Each room's keys share one hash tag, so one room lives on one shard
 * and rooms spread over the shards; two gateway instances serve two rooms on different shards.
 */
describe('waiting rooms on a Redis Cluster (3 masters, real redis-server processes)', () => {
  let cluster: PrivateRedisCluster;
  let h: GatewayHarness;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await h?.cleanup();
    await cluster?.stop();
  });

  it('runs two rooms whose keys live on different shards, each with its own line and admission, through two gateways', async () => {
    h = await createGatewayHarness({ maxActive: 2, clusterNodes: cluster.nodes });
    const shardOf = (concertId: string) => cluster.nodeOf(waitingRoomKeys(`${h.keyPrefix}:${concertId}`).line);
    // The harness's own sale, and a second concert whose room hashes to another master.
    const first = h.concertId;
    let second = randomUUID();
    while ((await shardOf(second)) === (await shardOf(first))) second = randomUUID();
    await h.configureSale(second, { maxActive: 1 });

    // Every key of a room sits on its room's shard (one slot), so each script runs there.
    for (const concertId of [first, second]) {
      const keys = Object.values(waitingRoomKeys(`${h.keyPrefix}:${concertId}`));
      const shards = new Set(await Promise.all(keys.map((k) => cluster.nodeOf(k))));
      expect(shards.size).toBe(1);
    }
    expect(await shardOf(first)).not.toBe(await shardOf(second));

    const fans = await Promise.all(Array.from({ length: 4 }, () => h.fan()));
    const enter = async (url: string, fan: { session: string }, concertId: string) => {
      const answer = await call(`${url}/queue/tokens`, { method: 'POST', session: fan.session, body: { concertId } });
      expect(answer.status).toBe(201);
      return answer.body as { queueToken: string; position: number; concertId: string };
    };
    // The same four fans in both rooms, through either gateway: one place per room each.
    const inFirst = [];
    const inSecond = [];
    for (const [i, fan] of fans.entries()) inFirst.push(await enter(i % 2 ? h.a.url : h.b.url, fan, first));
    for (const [i, fan] of [...fans].reverse().entries()) inSecond.push(await enter(i % 2 ? h.b.url : h.a.url, fan, second));
    expect(inFirst.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(inSecond.map((e) => e.position)).toEqual([1, 2, 3, 4]);

    // One tick on each gateway: the first room admits 2 (its cap), the second 1.
    await Promise.all([h.a.rooms.admitAll(console), h.b.rooms.admitAll(console)]);
    const status = async (fanIndex: number, entry: { queueToken: string }) =>
      (await call(`${h.a.url}/queue/status`, { session: fans[fanIndex].session, queueToken: entry.queueToken })).body as { status: string; concertId: string };
    expect((await Promise.all(inFirst.map((e, i) => status(i, e)))).map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'WAITING', 'WAITING']);
    const secondStatuses = await Promise.all(inSecond.map((e, i) => status(fans.length - 1 - i, e)));
    expect(secondStatuses.map((s) => s.status)).toEqual(['ACTIVE', 'WAITING', 'WAITING', 'WAITING']);
    expect(new Set(secondStatuses.map((s) => s.concertId))).toEqual(new Set([second]));
    expect((await h.a.rooms.room(first).waitingRoom.stats()).active).toBe(2);
    expect((await h.b.rooms.room(second).waitingRoom.stats()).active).toBe(1);
  }, 60_000);
});
