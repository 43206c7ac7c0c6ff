import { ConfigError, parseConfig } from '@evshare/kit';
import { leaseNamespace, operatorConfigSchema } from './config';

describe('operator config', () => {
  it('needs only NATS_URL and has sane defaults', () => {
    const config = parseConfig(operatorConfigSchema, { NATS_URL: 'nats://nats:4222' });
    expect(config).toMatchObject({ METRICS_PORT: 8080, EVALUATION_INTERVAL_MS: 1000, LEASE_DURATION_MS: 15000, LEASE_NAME: 'evshare-operator', NATS_PREFIX: '' });
    expect(config.WATCH_NAMESPACE).toBeUndefined();
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig(operatorConfigSchema, { NATS_URL: 'nats://x:4222', METRICS_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseConfig(operatorConfigSchema, {})).toThrow(/NATS_URL/);
  });

  it('puts the lease in POD_NAMESPACE, else the service account namespace, else the watched one', () => {
    const base = parseConfig(operatorConfigSchema, { NATS_URL: 'nats://x:4222', WATCH_NAMESPACE: 'evshare' });
    expect(leaseNamespace({ ...base, POD_NAMESPACE: 'ops' })).toBe('ops');
    expect(leaseNamespace(base, () => 'from-account\n')).toBe('from-account');
    expect(
      leaseNamespace(base, () => {
        throw new Error('not in a cluster');
      }),
    ).toBe('evshare');
  });
});
