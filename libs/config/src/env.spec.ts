import { ConfigError, loadServiceConfig, withDatabase } from './index';

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
