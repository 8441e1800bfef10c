import { startAdmissionTicker } from './admission-ticker';
import type { AdmitResult } from './waiting-room.repository';

const result = (admitted: number): AdmitResult => ({ admitted, droppedWaiters: 0, expiredActive: 0, sale: null, drawnAt: null });

function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 2));
    check();
  });
}

describe('startAdmissionTicker', () => {
  it('never runs two ticks at once, even when a tick outlasts the interval', async () => {
    let running = 0;
    let maxRunning = 0;
    let ticks = 0;
    const waitingRoom = {
      async admit() {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 15)); // longer than the interval below
        running--;
        ticks++;
        return result(0);
      },
    };
    const ticker = startAdmissionTicker({ waitingRoom, intervalMs: 1, logger: { error: jest.fn() } });
    await until(() => ticks >= 5);
    await ticker.stop();
    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
  });

  it('logs a failed tick and keeps ticking', async () => {
    const error = jest.fn();
    let calls = 0;
    const admitted: number[] = [];
    const waitingRoom = {
      async admit() {
        calls++;
        if (calls === 1) throw new Error('redis went away');
        return result(calls);
      },
    };
    const ticker = startAdmissionTicker({ waitingRoom, intervalMs: 1, logger: { error }, onAdmitted: (r) => admitted.push(r.admitted) });
    await until(() => admitted.length >= 2);
    await ticker.stop();
    expect(error).toHaveBeenCalledWith({ err: expect.objectContaining({ message: 'redis went away' }) }, 'admission tick failed');
    expect(admitted.slice(0, 2)).toEqual([2, 3]);
  });

  it('reports only ticks that changed something, and stop() waits for the tick in flight', async () => {
    const seen: AdmitResult[] = [];
    let release: () => void = () => undefined;
    let calls = 0;
    const waitingRoom = {
      admit() {
        calls++;
        if (calls < 3) return Promise.resolve(result(0));
        return new Promise<AdmitResult>((resolve) => (release = () => resolve(result(7))));
      },
    };
    const ticker = startAdmissionTicker({ waitingRoom, intervalMs: 1, logger: { error: jest.fn() }, onAdmitted: (r) => seen.push(r) });
    await until(() => calls === 3);
    let stopped = false;
    const stopping = ticker.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(seen).toEqual([result(7)]);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toBe(3);
  });
});
