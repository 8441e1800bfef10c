import { randomUUID } from 'node:crypto';
import { solveChallenge } from '../src/queue/proof-of-work';
import { call, createGatewayHarness, type GatewayHarness } from './gateway.harness';

/** A sale that asks for a proof-of-work on entering its room (real Redis, two gateways). */
describe('proof-of-work on entering a waiting room', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await createGatewayHarness();
  });
  afterAll(() => h?.cleanup());

  async function challenge(url: string, session: string, concertId: string) {
    const answer = await call(`${url}/queue/challenge?concertId=${concertId}`, { session });
    expect(answer.status).toBe(200);
    return answer.body as { challenge: string; difficulty: number; algorithm: string; expiresAt: string };
  }
  const enter = (url: string, session: string, concertId: string, proof?: unknown) =>
    call(`${url}/queue/tokens`, { method: 'POST', session, body: proof === undefined ? { concertId } : { concertId, proof } });

  it('asks nothing of a sale without it, and refuses a missing, wrong, foreign or replayed answer where a sale asks for one', async () => {
    // The harness's sale asks for none: entering needs no proof, the challenge says difficulty 0.
    const fan = await h.fan();
    expect((await challenge(h.a.url, fan.session, h.concertId)).difficulty).toBe(0);
    expect((await enter(h.a.url, fan.session, h.concertId)).status).toBe(201);

    const concertId = randomUUID();
    await h.configureSale(concertId, { powDifficulty: 10 });
    await Promise.all([h.a.rooms.room(concertId).view.refresh(), h.b.rooms.room(concertId).view.refresh()]);

    const missing = await enter(h.a.url, fan.session, concertId);
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ code: 'PROOF_OF_WORK_REQUIRED', difficulty: 10 });

    const issued = await challenge(h.b.url, fan.session, concertId);
    expect(issued).toMatchObject({ difficulty: 10, algorithm: 'sha256' });
    // A nonce that does not solve it.
    expect((await enter(h.a.url, fan.session, concertId, { challenge: issued.challenge, nonce: 'not-a-solution' })).body).toMatchObject({ code: 'PROOF_OF_WORK_REQUIRED' });
    // Someone else's solved challenge, or one for another sale.
    const other = await h.fan();
    const solved = { challenge: issued.challenge, nonce: solveChallenge(issued.challenge, 10) };
    expect((await enter(h.a.url, other.session, concertId, solved)).body).toMatchObject({ code: 'PROOF_OF_WORK_REQUIRED' });
    const elsewhere = await challenge(h.a.url, fan.session, h.concertId);
    expect((await enter(h.a.url, fan.session, concertId, { challenge: elsewhere.challenge, nonce: solveChallenge(elsewhere.challenge, 10) })).body).toMatchObject({
      code: 'PROOF_OF_WORK_REQUIRED',
    });
    // Nothing of the refusals took a place.
    expect((await h.a.rooms.room(concertId).waitingRoom.stats()).waiting).toBe(0);

    // The right answer, once: in. The same answer again, on the other gateway: refused.
    const admitted = await enter(h.a.url, fan.session, concertId, solved);
    expect(admitted.status).toBe(201);
    expect(admitted.body).toMatchObject({ concertId, position: 1 });
    const replayed = await enter(h.b.url, fan.session, concertId, solved);
    expect(replayed.status).toBe(403);
    expect(replayed.body).toMatchObject({ code: 'PROOF_OF_WORK_REQUIRED' });
    expect((await h.a.rooms.room(concertId).waitingRoom.stats()).waiting).toBe(1);
  });
});
