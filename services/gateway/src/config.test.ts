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
      QUEUE_MAX: 1024,
      ADMIN_PORT: 8088,
      ADMIN_HOST: '127.0.0.1',
      MAX_CLIENT_CONNECTIONS: 16384,
      HEADERS_TIMEOUT_MS: 15000,
      WS_IDLE_TIMEOUT_MS: 600000,
    });
    expect(parseConfig(gatewayConfigSchema, {}).TRUST_PROXY.none).toBe(true);
  });

  it('reads lists, numbers and booleans', () => {
    const config = parseConfig(gatewayConfigSchema, {
      AUTH_UPSTREAMS: 'http://127.0.0.1:8201, http://127.0.0.1:8202',
      BALANCE_FACTOR: '1.5',
      TRUST_PROXY: '10.0.0.0/8',
      WEB_UPSTREAM: 'http://127.0.0.1:5173',
    });
    expect(config).toMatchObject({ AUTH_UPSTREAMS: ['http://127.0.0.1:8201', 'http://127.0.0.1:8202'], BALANCE_FACTOR: 1.5 });
    expect(config.TRUST_PROXY.trusts('10.1.1.1', 0)).toBe(true);
  });

  it.each([
    ['BALANCE_FACTOR', '0.9'],
    ['BALANCE_FACTOR', 'lots'],
    ['PORT', '70000'],
    ['WEB_UPSTREAM', 'not a url'],
    ['HEALTH_INTERVAL_MS', '5'],
    ['TRUST_PROXY', 'maybe'],
    ['MAX_CLIENT_CONNECTIONS', '0'],
    ['NATS_SUBJECT_PREFIX', 'no-dot'],
  ])('names %s when it is %j', (name, value) => {
    expect(() => parseConfig(gatewayConfigSchema, { [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig(gatewayConfigSchema, { [name]: value })).toThrow(new RegExp(`^${name}:`));
  });
});
