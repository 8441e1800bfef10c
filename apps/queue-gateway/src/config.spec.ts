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
