import { ConfigError, DEV_SECRETS, loadServiceConfig, resolveSecrets, withDatabase } from './index';

describe('service configuration', () => {
  it('derives port and database from the service name, with defaults', () => {
    const config = loadServiceConfig('reservation', {}, {});
    expect(config.port).toBe(3002);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/reservation');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
  });

  it('takes overrides from the environment', () => {
    const config = loadServiceConfig('wallet', {}, { WALLET_PORT: '4003', KAFKA_BROKERS: 'a:1, b:2', DATABASE_URL: 'postgres://u@db:5432/w' });
    expect(config).toMatchObject({ port: 4003, KAFKA_BROKERS: ['a:1', 'b:2'], databaseUrl: 'postgres://u@db:5432/w' });
  });

  it('reports every invalid setting at once', () => {
    let error: unknown;
    try {
      loadServiceConfig('payment', {}, { PAYMENT_PORT: 'eighty', KAFKA_BROKERS: 'nohostport', LOG_LEVEL: 'chatty' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual(
      expect.arrayContaining([expect.stringMatching(/^PORT/), expect.stringMatching(/^KAFKA_BROKERS/), expect.stringMatching(/^LOG_LEVEL/)]),
    );
  });

  it('replaces the database of a server URL', () => {
    expect(withDatabase('postgres://p:s@h:5433/postgres?sslmode=disable', 'wallet')).toBe('postgres://p:s@h:5433/wallet?sslmode=disable');
  });
});

describe('secrets', () => {
  it('uses development values outside production and refuses to start without them in production', () => {
    expect(loadServiceConfig('wallet', {}, {}).INTERNAL_AUTH_SECRET).toMatch(/^dev-only/);
    expect(() => loadServiceConfig('wallet', {}, { NODE_ENV: 'production' })).toThrow(/INTERNAL_AUTH_SECRET: required in production/);
    const secret = 'x'.repeat(40);
    expect(loadServiceConfig('wallet', {}, { NODE_ENV: 'production', INTERNAL_AUTH_SECRET: secret }).INTERNAL_AUTH_SECRET).toBe(secret);
    expect(() => loadServiceConfig('wallet', {}, { INTERNAL_AUTH_SECRET: 'short' })).toThrow(/at least 32/);
  });
});

describe('secrets in production', () => {
  const production = (secret: string | undefined) => () => resolveSecrets({ NODE_ENV: 'production', INTERNAL_AUTH_SECRET: secret }, ['INTERNAL_AUTH_SECRET']);
  const issuesOf = (fn: () => unknown): string[] => {
    try {
      fn();
    } catch (error) {
      if (error instanceof ConfigError) return error.issues;
      throw error;
    }
    throw new Error('no ConfigError');
  };

  it('refuses every development value written in the repository, naming the setting', () => {
    for (const [name, value] of Object.entries(DEV_SECRETS)) {
      expect(issuesOf(() => resolveSecrets({ NODE_ENV: 'production', [name]: value }, [name as keyof typeof DEV_SECRETS]))).toEqual([
        `${name}: is a development value written in the repository; set a secret of your own`,
      ]);
    }
    // The values docker-compose.yml used to fill in are public too.
    expect(issuesOf(production('dev-only-internal-auth-secret-do-not-use-in-prod'))).toEqual([expect.stringMatching(/^INTERNAL_AUTH_SECRET: is a development value/)]);
  });

  it('refuses a secret shorter than 32 bytes (bytes, not characters) and accepts one of 32', () => {
    expect(issuesOf(production('s'.repeat(31)))).toEqual(['INTERNAL_AUTH_SECRET: must be at least 32 bytes in production (has 31)']);
    expect(production('s'.repeat(32))()).toEqual({ INTERNAL_AUTH_SECRET: 's'.repeat(32) });
    // 16 two-byte characters are 32 bytes; 15 and a one-byte one are 31.
    expect(production('é'.repeat(16))()).toEqual({ INTERNAL_AUTH_SECRET: 'é'.repeat(16) });
    expect(issuesOf(production(`${'é'.repeat(15)}e`))).toEqual(['INTERNAL_AUTH_SECRET: must be at least 32 bytes in production (has 31)']);
  });

  it('names every bad secret at once', () => {
    const issues = issuesOf(() =>
      resolveSecrets({ NODE_ENV: 'production', ADMIN_API_KEY: DEV_SECRETS.ADMIN_API_KEY, SESSION_JWT_SECRET: 'short', QUEUE_JWT_SECRET: undefined }, [
        'ADMIN_API_KEY',
        'SESSION_JWT_SECRET',
        'QUEUE_JWT_SECRET',
      ]),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^ADMIN_API_KEY: is a development value/),
      expect.stringMatching(/^SESSION_JWT_SECRET: must be at least 32 bytes/),
      'QUEUE_JWT_SECRET: required in production',
    ]);
  });

  it('keeps the development values outside production', () => {
    expect(resolveSecrets({ NODE_ENV: 'development', ADMIN_API_KEY: undefined }, ['ADMIN_API_KEY'])).toEqual({ ADMIN_API_KEY: DEV_SECRETS.ADMIN_API_KEY });
    expect(resolveSecrets({ NODE_ENV: 'test', ADMIN_API_KEY: 'short-key' }, ['ADMIN_API_KEY'])).toEqual({ ADMIN_API_KEY: 'short-key' });
  });

  it('stops a service whose internal secret is a development value', () => {
    expect(() => loadServiceConfig('wallet', {}, { NODE_ENV: 'production', INTERNAL_AUTH_SECRET: DEV_SECRETS.INTERNAL_AUTH_SECRET })).toThrow(
      /INTERNAL_AUTH_SECRET: is a development value/,
    );
  });
});
