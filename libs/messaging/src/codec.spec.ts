import { ContractViolationError, decodeEvent, encodeEvent } from './index';

const payload = {
  reservationId: '6f1c1c52-4a55-4c43-9b0a-58a2f1a6f0a1',
  scheduleId: '6f1c1c52-4a55-4c43-9b0a-58a2f1a6f0a2',
  seatNo: 12,
  userId: '6f1c1c52-4a55-4c43-9b0a-58a2f1a6f0a3',
  seatVersion: 3,
  price: 55_000,
  holdExpiresAt: '2026-11-21T10:05:00.000Z',
};

describe('event codec (contracts validated on send and on receive)', () => {
  it('wraps a payload in the envelope and reads it back', () => {
    const envelope = encodeEvent({ type: 'reservation.held', key: payload.reservationId, payload, causationId: 'cmd-1' });
    expect(envelope).toMatchObject({ type: 'reservation.held', version: 1, causationId: 'cmd-1', payload });
    expect(envelope.correlationId).toBe(envelope.id);
    expect(decodeEvent(Buffer.from(JSON.stringify(envelope)))).toEqual(envelope);
  });

  it('refuses to send a payload that breaks its schema, naming the field', () => {
    expect(() => encodeEvent({ type: 'reservation.held', key: 'k', payload: { ...payload, seatNo: 0 } })).toThrow(/seatNo/);
    expect(() => encodeEvent({ type: 'no.such-event' as 'reservation.held', key: 'k', payload })).toThrow(ContractViolationError);
  });

  it.each([
    ['bad JSON', '{"id":', /malformed JSON/],
    ['a tombstone', null, /empty message/],
    ['a missing envelope field', JSON.stringify({ type: 'reservation.held', payload }), /invalid envelope/],
    ['an unknown type', JSON.stringify({ ...encodeEvent({ type: 'reservation.held', key: 'k', payload }), type: 'seat.teleported' }), /unknown event type/],
    ['an unsupported version', JSON.stringify({ ...encodeEvent({ type: 'reservation.held', key: 'k', payload }), version: 9 }), /version 9/],
    ['a failing payload', JSON.stringify({ ...encodeEvent({ type: 'reservation.held', key: 'k', payload }), payload: { ...payload, price: '10' } }), /price/],
  ])('refuses to receive %s', (_label, raw, message) => {
    expect(() => decodeEvent(raw === null ? null : Buffer.from(raw))).toThrow(message);
    expect(() => decodeEvent(raw === null ? null : Buffer.from(raw))).toThrow(ContractViolationError);
  });
});
