import { createMetricsRegistry } from '@ticketing/telemetry';
import { waitFor } from '@ticketing/testing';
import { OUTBOX_DEAD_LETTER_TABLE, OUTBOX_TABLE } from '../src';
import { createBackbone, heldEvent, newKey, type Backbone } from './backbone.harness';

describe('outbox rows that never publish (real PostgreSQL and broker)', () => {
  let bb: Backbone;
  beforeEach(async () => {
    bb = await createBackbone('deadletters');
  });
  afterEach(() => bb.cleanup());

  it('moves a row that failed maxAttempts times to outbox_dead_letters with the reason, counts it, and its key moves on', async () => {
    const stuckKey = newKey();
    const otherKey = newKey();
    // The first row of stuckKey targets a topic that never exists; the next row of that key and a
    // row of another key (sent in the same request as the bad one) are fine.
    const [bad] = await bb.commit(heldEvent(stuckKey, 1));
    await bb.db(OUTBOX_TABLE).where('event_id', bad.id).update({ topic: `${bb.prefix}never-created` });
    const [next] = await bb.commit(heldEvent(stuckKey, 2));
    const [other] = await bb.commit(heldEvent(otherKey, 1));
    const metrics = createMetricsRegistry('dead-letter-test');
    await bb.startConsumer();
    await bb.startRelay({ maxAttempts: 3, retryBaseMs: 50, retryMaxMs: 200, metrics });

    await waitFor(async () => (await bb.effects()).some((e) => e.event_id === next.id), { timeoutMs: 30_000, label: 'the later row of the stuck key' });

    const dead = await bb.db(OUTBOX_DEAD_LETTER_TABLE).select();
    expect(dead).toEqual([
      expect.objectContaining({ event_id: bad.id, key: stuckKey, topic: `${bb.prefix}never-created`, type: 'reservation.held', attempts: 3, reason: 'UNKNOWN_TOPIC_OR_PARTITION' }),
    ]);
    expect(dead[0].last_error).toMatch(/topic-partition/);
    expect(dead[0].envelope).toMatchObject({ id: bad.id, payload: { seatVersion: 1 } });
    // Gone from the outbox, so it holds nothing back; the next row went out only after it was moved.
    expect(await bb.db(OUTBOX_TABLE).where('event_id', bad.id).first()).toBeUndefined();
    const nextRow = await bb.db(OUTBOX_TABLE).where('event_id', next.id).first();
    expect(nextRow.published_at.getTime()).toBeGreaterThanOrEqual(dead[0].dead_lettered_at.getTime());
    // The row of the other key shared the bad row's request, yet no failure was counted against it.
    const otherRow = await bb.db(OUTBOX_TABLE).where('event_id', other.id).first();
    expect(otherRow).toMatchObject({ attempts: 1, last_error: null });
    expect(otherRow.published_at).not.toBeNull();
    expect((await bb.effects()).map((e) => e.event_id).sort()).toEqual([next.id, other.id].sort());

    const counted = (await metrics.getSingleMetric('outbox_dead_lettered_total')!.get()).values;
    expect(counted).toEqual([expect.objectContaining({ value: 1, labels: { topic: `${bb.prefix}never-created`, reason: 'UNKNOWN_TOPIC_OR_PARTITION' } })]);
  });
});
