import { ensureTestStack } from './infra/stack/test-stack';
import { ensureChromium, ensureWebBuild } from './infra/stack/web-app';

/**
 * Finds or starts real servers for the integration tests: DATABASE_URL/REDIS_URL/KAFKA_BROKERS when
 * set, else containers when a runtime answers, else the local stack. Workers inherit the variables.
 */
export default async function globalSetup(): Promise<void> {
  const stack = await ensureTestStack();
  Object.assign(process.env, stack.env);
  (globalThis as { __testStack?: typeof stack }).__testStack = stack;
  // The browser tests (infra/e2e/web-*.int-spec.ts) need Debian's Chromium and the web app's build
  // (served by the gateway): made here once. A failure fails those tests only, with its reason.
  try {
    await ensureChromium({ log: (line) => console.log(`[browser tests] ${line}`) });
    await ensureWebBuild({ log: (line) => console.log(`[browser tests] ${line}`) });
  } catch (error) {
    process.env.BROWSER_TESTS_SETUP_ERROR = (error as Error).message;
  }
}
