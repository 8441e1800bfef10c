import { encodeEvent, type EventHandler, type HandlerContext } from '@ticketing/messaging';
import { randomUUID } from 'node:crypto';
import { combineHandlers } from './combine-handlers';

const event = encodeEvent({
  type: 'hold.expired',
  key: 'k',
  payload: { reservationId: randomUUID(), scheduleId: randomUUID(), seatNo: 1, userId: randomUUID(), seatVersion: 1 },
});
const ctx = { trx: {}, topic: 't', partition: 0, offset: '0' } as unknown as HandlerContext;

describe('combineHandlers', () => {
  it('runs every feature handler of one event type, in the order given, with the same event and context', async () => {
    const calls: string[] = [];
    const record =
      (name: string): EventHandler<'hold.expired'> =>
      async (e, c) => {
        expect(e).toBe(event);
        expect(c).toBe(ctx);
        calls.push(name);
      };
    const other: EventHandler<'reservation.held'> = async () => void calls.push('other');
    const handlers = combineHandlers({ 'hold.expired': record('seats') }, { 'hold.expired': record('saga'), 'reservation.held': other });
    await handlers['hold.expired']!(event, ctx);
    expect(calls).toEqual(['seats', 'saga']);
    expect(Object.keys(handlers).sort()).toEqual(['hold.expired', 'reservation.held']);
  });

  it('stops at the first failing handler and rethrows, so the consumer retries the whole message', async () => {
    const calls: string[] = [];
    const handlers = combineHandlers(
      { 'hold.expired': async () => void calls.push('first') },
      {
        'hold.expired': async () => {
          throw new Error('boom');
        },
      },
      { 'hold.expired': async () => void calls.push('third') },
    );
    await expect(handlers['hold.expired']!(event, ctx)).rejects.toThrow('boom');
    expect(calls).toEqual(['first']);
  });

  it('is what a spread of the sets is not: both features of one event kept', () => {
    const a = { 'hold.expired': async () => undefined };
    const b = { 'hold.expired': async () => undefined };
    expect({ ...a, ...b }['hold.expired']).toBe(b['hold.expired']);
    const combined = combineHandlers(a, b)['hold.expired'];
    expect(combined).not.toBe(a['hold.expired']);
    expect(combined).not.toBe(b['hold.expired']);
  });
});
