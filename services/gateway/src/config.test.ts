import { ConfigError, parseConfig } from '@evshare/kit';
import { gatewayConfigSchema } from './config';

describe('gatewayConfigSchema', () => {
  it('needs no variable at all', () => {
    expect(parseConfig(gatewayConfigSchema, {})).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      AUTH_UPSTREAMS: [],
      APP_UPSTREAMS: [],
      PUSH_UPSTREAMS: [],
      WEB_UPSTREAM: undefined,
      BALANCE_FACTOR: 1.25,
      BALANCE_MIN_LOAD: 8,
      RING_VNODES: 160,
      USE_REPORTED_LOAD: true,
      HEALTH_INTERVAL_MS: 1000,
      TRUST_FORWARDED: false,
      QUEUE_MAX: 1024,
    });
  });

  it('reads lists, numbers and booleans', () => {
    const config = parseConfig(gatewayConfigSchema, {
      AUTH_UPSTREAMS: 'http://127.0.0.1:8201, http://127.0.0.1:8202',
      BALANCE_FACTOR: '1.5',
      TRUST_FORWARDED: 'yes',
      WEB_UPSTREAM: 'http://127.0.0.1:5173',
    });
    expect(config).toMatchObject({ AUTH_UPSTREAMS: ['http://127.0.0.1:8201', 'http://127.0.0.1:8202'], BALANCE_FACTOR: 1.5, TRUST_FORWARDED: true });
  });

  it.each([
    ['BALANCE_FACTOR', '0.9'],
    ['BALANCE_FACTOR', 'lots'],
    ['PORT', '70000'],
    ['WEB_UPSTREAM', 'not a url'],
    ['HEALTH_INTERVAL_MS', '5'],
    ['TRUST_FORWARDED', 'maybe'],
    ['NATS_SUBJECT_PREFIX', 'no-dot'],
  ])('names %s when it is %j', (name, value) => {
    expect(() => parseConfig(gatewayConfigSchema, { [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig(gatewayConfigSchema, { [name]: value })).toThrow(new RegExp(`^${name}:`));
  });
});
