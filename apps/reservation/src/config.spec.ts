import { ConfigError } from '@ticketing/config';
import { loadReservationConfig } from './config';

describe('loadReservationConfig', () => {
  it('defaults to 5-minute holds, 4 holds per user and schedule, a 200 ms sweep', () => {
    expect(loadReservationConfig({})).toMatchObject({ HOLD_TTL_SECONDS: 300, HOLD_LIMIT: 4, HOLD_SWEEP_INTERVAL_MS: 200, port: 3002 });
  });

  it('stops at start on a bad value, listing every problem', () => {
    expect(() => loadReservationConfig({ HOLD_TTL_SECONDS: 'soon', HOLD_LIMIT: '0', HOLD_SWEEP_INTERVAL_MS: '5000' })).toThrow(ConfigError);
    try {
      loadReservationConfig({ HOLD_TTL_SECONDS: 'soon', HOLD_LIMIT: '0', HOLD_SWEEP_INTERVAL_MS: '5000' });
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.split(':')[0]).sort()).toEqual(['HOLD_LIMIT', 'HOLD_SWEEP_INTERVAL_MS', 'HOLD_TTL_SECONDS']);
    }
  });
});
