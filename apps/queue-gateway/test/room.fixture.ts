import { createWaitingRoom, type Entry, type EntryRefusal, type RoomSale, type WaitingRoom, type WaitingRoomOptions } from '../src/waiting-room/waiting-room.repository';

/** A sale open since long ago, admitting as fast as slots allow (the rate never binds unless a test sets one). */
export function openSale(overrides: Partial<RoomSale> = {}): RoomSale {
  return {
    revision: 1,
    queueOpensAt: 0,
    saleOpensAt: 0,
    maxActive: 5,
    admitPerMinute: 1_000_000,
    activeMs: 300_000,
    mode: 'queue',
    powDifficulty: 0,
    ...overrides,
  };
}

export type TestRoomOptions = WaitingRoomOptions & { maxActive?: number; activeTtlMs?: number; sale?: Partial<RoomSale> };

/** A room's entry, failing the test if the room refused it (no sale, not open). */
export function entered(entry: Entry | EntryRefusal): Entry {
  if ('refused' in entry) throw new Error(`the room refused the entry: ${JSON.stringify(entry)}`);
  return entry;
}

const ASYNC_METHODS = ['status', 'statusMany', 'keepAlive', 'leave', 'expireTicket', 'admit', 'admitAndSnapshot', 'snapshot', 'stats', 'resolvePreQueue', 'leavePreQueue', 'describe'] as const;

export type TestRoom = Omit<WaitingRoom, 'enter'> & { enter(userId: string): Promise<Entry> };

/**
 * A waiting room for the repository's own tests: its sale stored (once per key prefix, before the first
 * call of any instance), `enter` returning the entry itself. `maxActive` and `activeTtlMs` set the sale's cap and slot length.
 */
export function createTestRoom({ maxActive = 5, activeTtlMs = 300_000, sale, ...options }: TestRoomOptions, ready?: Promise<unknown>): TestRoom & { ready: Promise<unknown> } {
  const room = createWaitingRoom(options);
  const configured = ready ?? room.configure(openSale({ maxActive, activeMs: activeTtlMs, ...sale }));
  const wrapped = { ...room } as Record<string, unknown>;
  for (const name of ASYNC_METHODS) {
    const run = room[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      await configured;
      return run(...args);
    };
  }
  wrapped.enter = async (userId: string) => {
    await configured;
    return entered(await room.enter(userId));
  };
  wrapped.ready = configured;
  return wrapped as unknown as TestRoom & { ready: Promise<unknown> };
}
