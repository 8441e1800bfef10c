/** Stops only what the global setup started (a running `npm start` stack is left alone). */
export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as { __testStack?: { teardown(): Promise<void> } }).__testStack;
  await stack?.teardown();
}
