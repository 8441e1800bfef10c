import { waitFor } from '@ticketing/testing';
import { createBackbone, heldEvent, newKey, type Backbone, type Effect } from './backbone.harness';

describe('per-key order with two relay instances', () => {
  let bb: Backbone;
  beforeEach(async () => {
    bb = await createBackbone('ordering');
  });
  afterEach(() => bb.cleanup());

  it('delivers every event once and each key in commit order while two relays compete', async () => {
    const keys = Array.from({ length: 20 }, newKey);
    const perKey = 40;
    // Small batches force the two relays to interleave claims on the same keys all the time.
    await bb.startRelay({ batchSize: 7, pollIntervalMs: 50 });
    await bb.startRelay({ batchSize: 5, pollIntervalMs: 50 });
    await bb.startConsumer();

    // One writer per key (each key's events commit in sequence), all keys concurrently.
    await Promise.all(
      keys.map(async (key) => {
        for (let seq = 1; seq <= perKey; seq++) await bb.commit(heldEvent(key, seq));
      }),
    );

    const total = keys.length * perKey;
    const effects = await waitFor(async () => {
      const rows = await bb.effects();
      return rows.length >= total ? rows : undefined;
    }, { timeoutMs: 60_000, label: `${total} effects` });
    expect(effects).toHaveLength(total);
    expect(new Set(effects.map((e) => e.event_id)).size).toBe(total);
    const byKey = new Map<string, number[]>();
    for (const e of effects as Effect[]) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.seq]);
    for (const key of keys) {
      expect(byKey.get(key)).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
  });
});
