import { ConfigError, parseConfig } from '@evshare/kit';
import { leaseNamespace, operatorConfigSchema, requireSigningKeyInProduction } from './config';

describe('operator config', () => {
  it('needs only NATS_URL and has sane defaults', () => {
    const config = parseConfig(operatorConfigSchema, { NATS_URL: 'nats://nats:4222' });
    expect(config).toMatchObject({
      METRICS_PORT: 8080,
      EVALUATION_INTERVAL_MS: 1000,
      LEASE_DURATION_MS: 15000,
      LEASE_NAME: 'evshare-operator',
      NATS_PREFIX: '',
    });
    expect(config.WATCH_NAMESPACE).toBeUndefined();
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig(operatorConfigSchema, { NATS_URL: 'nats://x:4222', METRICS_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseConfig(operatorConfigSchema, {})).toThrow(/NATS_URL/);
  });

  it.each<[string, Record<string, string>, boolean]>([
    ['production without the signing key', { NODE_ENV: 'production' }, false],
    ['NODE_ENV unset without the signing key', {}, false],
    ['production with the signing key', { NODE_ENV: 'production', MEMBERSHIP_SIGNING_KEY: 'k'.repeat(32) }, true],
    ['development without the signing key', { NODE_ENV: 'development' }, true],
    ['test without the signing key', { NODE_ENV: 'test' }, true],
  ])('refuses to start outside development without MEMBERSHIP_SIGNING_KEY: %s', (_name, extra, starts) => {
    const config = parseConfig(operatorConfigSchema, { NATS_URL: 'nats://x:4222', ...extra });
    if (starts) expect(() => requireSigningKeyInProduction(config)).not.toThrow();
    else expect(() => requireSigningKeyInProduction(config)).toThrow(/^MEMBERSHIP_SIGNING_KEY: required outside development/);
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
