import { runTsProcess, testKafka, waitFor, type TestProcess } from '@ticketing/testing';
import path from 'node:path';
import { OUTBOX_TABLE } from '../src';
import { createBackbone, heldEvent, newKey, type Backbone } from './backbone.harness';

const RELAY = path.join(__dirname, 'fixtures/relay-process.ts');

describe('relay killed with SIGKILL (real processes)', () => {
  let bb: Backbone;
  const running: TestProcess[] = [];
  const startRelayProcess = (fault = 'none', batchSize = 50) => {
    const p = runTsProcess(RELAY, { DATABASE_URL: bb.database.url, RELAY_FAULT: fault, BATCH_SIZE: String(batchSize) });
    running.push(p);
    return p;
  };
  const pending = async () => Number((await bb.db(OUTBOX_TABLE).whereNull('published_at').count({ n: '*' }).first())?.n);

  beforeEach(async () => {
    bb = await createBackbone('crash');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    await bb.cleanup();
  });

  it('killed after claiming, before sending: the events are delivered after a restart', async () => {
    const key = newKey();
    const written = await bb.commit(heldEvent(key, 1), heldEvent(key, 2), heldEvent(key, 3));
    const doomed = startRelayProcess('kill-after-claim');
    await doomed.waitForOutput(/claimed 3/);
    await doomed.exited;
    expect(doomed.child.signalCode).toBe('SIGKILL');
    expect(await pending()).toBe(3);

    await bb.startConsumer();
    await startRelayProcess().waitForOutput(/published 3/);
    const effects = await waitFor(async () => ((await bb.effects()).length === 3 ? bb.effects() : undefined), { label: '3 effects' });
    expect(effects.map((e) => e.event_id)).toEqual(written.map((w) => w.id));
  });

  it('killed after sending, before marking: the events are sent again, and applied once', async () => {
    const key = newKey();
    const written = await bb.commit(heldEvent(key, 1), heldEvent(key, 2));
    let duplicates = 0;
    await bb.startConsumer({ onProcessed: (_event, outcome) => outcome === 'duplicate' && duplicates++ });
    const doomed = startRelayProcess('kill-after-send');
    await doomed.waitForOutput(/sent 2/);
    await doomed.exited;
    expect(await pending()).toBe(2); // the mark never committed
    await waitFor(async () => (await bb.effects()).length === 2, { label: 'the first copies applied' });

    // The restarted relay sends both again; they reach the consumer in a later batch.
    await startRelayProcess().waitForOutput(/published 2/);
    // The broker really holds each event twice: only the consumer's idempotency keeps one effect each.
    const admin = testKafka().admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(bb.topic);
    await admin.disconnect();
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(4);
    await waitFor(() => duplicates >= 2, { label: 'both copies recognised as duplicates' });
    expect((await bb.effects()).map((e) => e.event_id)).toEqual(written.map((w) => w.id));
  });

  it('killed repeatedly at random moments under a steady stream of commits: nothing lost, nothing applied twice, order kept', async () => {
    const keys = Array.from({ length: 8 }, newKey);
    const perKey = 40;
    await bb.startConsumer();
    let writing = true;
    const writer = Promise.all(
      keys.map(async (key) => {
        for (let seq = 1; seq <= perKey; seq++) {
          await bb.commit(heldEvent(key, seq));
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
        }
      }),
    ).finally(() => {
      writing = false;
    });

    let kills = 0;
    while (writing || kills < 3) {
      const relay = startRelayProcess('none', 5);
      await relay.waitForOutput(/relay started/);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
      await relay.kill('SIGKILL');
      kills++;
    }
    await writer;
    startRelayProcess();

    const total = keys.length * perKey;
    const effects = await waitFor(async () => {
      const rows = await bb.effects();
      return rows.length >= total ? rows : undefined;
    }, { timeoutMs: 60_000, label: `${total} effects` });
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(effects).toHaveLength(total);
    for (const key of keys) {
      expect(effects.filter((e) => e.key === key).map((e) => e.seq)).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
  });
});
