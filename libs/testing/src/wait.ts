/** Polls `probe` until it returns a truthy value; fails with `label` and the last value after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T> | T, { timeoutMs = 15_000, intervalMs = 50, label = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}; last value ${JSON.stringify(last)}${lastError ? `, last error ${String(lastError)}` : ''}`);
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
