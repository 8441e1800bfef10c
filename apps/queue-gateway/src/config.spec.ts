import { ConfigError, DEV_SECRETS } from '@ticketing/config';
import { loadGatewayConfig } from './config';

const strong = (name: string) => `${name.toLowerCase()}-0123456789abcdefghijklmnopqrstuvwxyz`;

describe('gateway configuration in production', () => {
  it('names every secret that is unset, a development value or too short, at once', () => {
    let error: unknown;
    try {
      loadGatewayConfig({ NODE_ENV: 'production', ADMIN_API_KEY: DEV_SECRETS.ADMIN_API_KEY, SESSION_JWT_SECRET: DEV_SECRETS.SESSION_JWT_SECRET });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      'INTERNAL_AUTH_SECRET: required in production',
      expect.stringMatching(/^ADMIN_API_KEY: is a development value/),
      expect.stringMatching(/^SESSION_JWT_SECRET: is a development value/),
      'QUEUE_JWT_SECRET: required in production',
    ]);
    expect(() => loadGatewayConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'only-twenty-bytes-ok', SESSION_JWT_SECRET: strong('S'), QUEUE_JWT_SECRET: strong('Q'), INTERNAL_AUTH_SECRET: strong('I') })).toThrow(
      /ADMIN_API_KEY: must be at least 32 bytes in production \(has 20\)/,
    );
  });

  it('starts with secrets of its own', () => {
    const secrets = { ADMIN_API_KEY: strong('A'), SESSION_JWT_SECRET: strong('S'), QUEUE_JWT_SECRET: strong('Q'), INTERNAL_AUTH_SECRET: strong('I') };
    expect(loadGatewayConfig({ NODE_ENV: 'production', ...secrets })).toMatchObject(secrets);
  });

  it('uses the development values outside production', () => {
    expect(loadGatewayConfig({})).toMatchObject(DEV_SECRETS);
  });
});

describe('gateway configuration: who the client is, request limits, password cost, sessions', () => {
  const issuesOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadGatewayConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.issues;
      throw error;
    }
    return [];
  };

  it('takes the client from the socket unless TRUST_PROXY names the proxies or a hop count', () => {
    expect(loadGatewayConfig({}).TRUST_PROXY).toBe(false);
    expect(loadGatewayConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadGatewayConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadGatewayConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,2001:db8::/32, 192.0.2.1' }).TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
  });

  it('refuses TRUST_PROXY=true (any client could name itself) and anything that is not an address, subnet or name', () => {
    for (const value of ['true', 'everyone', '10.0.0.0/33', '10.0.0.1/8/9', 'loopback,300.1.1.1', ',']) {
      expect(issuesOf({ TRUST_PROXY: value })).toEqual([expect.stringMatching(/^TRUST_PROXY: name the trusted proxies/)]);
    }
  });

  it('has generous request limits by default, each settable, and keeps the counters under the queue prefix unless told otherwise', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({
      RATE_LIMIT_IP_REQUESTS: 100_000,
      RATE_LIMIT_IP_WINDOW_SECONDS: 10,
      RATE_LIMIT_USER_REQUESTS: 600,
      RATE_LIMIT_QUEUE_ENTRIES: 10,
      RATE_LIMIT_SIGNUPS: 20,
      RATE_LIMIT_LOGIN_FAILURES: 5,
      RATE_LIMIT_LOGIN_BLOCK_SECONDS: 30,
      RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: 900,
      RATE_LIMIT_KEY_PREFIX: 'wr:rl',
    });
    expect(loadGatewayConfig({ QUEUE_KEY_PREFIX: 'e2e_1' }).RATE_LIMIT_KEY_PREFIX).toBe('e2e_1:rl');
    expect(loadGatewayConfig({ RATE_LIMIT_KEY_PREFIX: 'limits', RATE_LIMIT_SIGNUPS: '3' })).toMatchObject({ RATE_LIMIT_KEY_PREFIX: 'limits', RATE_LIMIT_SIGNUPS: 3 });
    expect(issuesOf({ RATE_LIMIT_USER_REQUESTS: '0' })).toEqual([expect.stringMatching(/^RATE_LIMIT_USER_REQUESTS/)]);
  });

  it('refuses a log-in block whose maximum is below its first length, or outlives the memory of failures', () => {
    expect(issuesOf({ RATE_LIMIT_LOGIN_BLOCK_SECONDS: '60', RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: '30' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS/)]);
    expect(issuesOf({ RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: '3600', RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS: '3600' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS/)]);
  });

  it("hashes with OWASP's m=19 MiB, t=2, p=1 by default and refuses a cost below every OWASP row", () => {
    expect(loadGatewayConfig({})).toMatchObject({ PASSWORD_HASH_MEMORY_KIB: 19_456, PASSWORD_HASH_ITERATIONS: 2, PASSWORD_HASH_PARALLELISM: 1 });
    expect(loadGatewayConfig({ PASSWORD_HASH_MEMORY_KIB: '12288', PASSWORD_HASH_ITERATIONS: '3' }).PASSWORD_HASH_ITERATIONS).toBe(3);
    expect(issuesOf({ PASSWORD_HASH_ITERATIONS: '1' })).toEqual([expect.stringMatching(/^PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS: below every row/)]);
  });

  it('keeps sessions 12 h by default and up to 7 days', () => {
    expect(loadGatewayConfig({}).SESSION_TTL_SECONDS).toBe(43_200);
    expect(loadGatewayConfig({ SESSION_TTL_SECONDS: String(7 * 86_400) }).SESSION_TTL_SECONDS).toBe(604_800);
    expect(issuesOf({ SESSION_TTL_SECONDS: String(7 * 86_400 + 1) })).toEqual([expect.stringMatching(/^SESSION_TTL_SECONDS/)]);
  });
});
