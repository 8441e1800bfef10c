import { ensureTestStack } from './infra/stack/test-stack';

/**
 * Finds or starts real servers for the integration tests: DATABASE_URL/REDIS_URL/KAFKA_BROKERS when
 * set, else containers when a runtime answers, else the local stack. Workers inherit the variables.
 */
export default async function globalSetup(): Promise<void> {
  const stack = await ensureTestStack();
  Object.assign(process.env, stack.env);
  (globalThis as { __testStack?: typeof stack }).__testStack = stack;
}
