import { ConfigError } from '@ticketing/config';
import { DEFAULT_MAX_CHARGE } from '@ticketing/contracts';
import { loadWalletConfig } from './config';

describe('loadWalletConfig', () => {
  it('defaults to the contract MAX_CHARGE, an hourly idempotency purge and port 3003', () => {
    expect(loadWalletConfig({})).toMatchObject({ MAX_CHARGE: DEFAULT_MAX_CHARGE, IDEMPOTENCY_PURGE_INTERVAL_MS: 3_600_000, port: 3003 });
    expect(loadWalletConfig({ MAX_CHARGE: '500' }).MAX_CHARGE).toBe(500);
  });

  it('stops at start on a bad MAX_CHARGE', () => {
    for (const MAX_CHARGE of ['0', '-5', '1.5', 'lots']) expect(() => loadWalletConfig({ MAX_CHARGE })).toThrow(ConfigError);
  });
});
