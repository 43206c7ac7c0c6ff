import { redisOptionsFromEnv } from './redis';

describe('redisOptionsFromEnv', () => {
  it.each([
    ['nothing set: embedded store', {}, undefined],
    ['empty values count as unset', { REDIS_URL: '', REDIS_PASSWORD: ' ' }, undefined],
    ['single server', { REDIS_URL: 'redis://10.0.0.5:6379/2' }, { url: 'redis://10.0.0.5:6379/2' }],
    ['TLS', { REDIS_URL: 'rediss://cache.example.com:6380' }, { url: 'rediss://cache.example.com:6380' }],
    ['single server with password', { REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 's3cret' }, { url: 'redis://r:6379', password: 's3cret' }],
    [
      'sentinels',
      { REDIS_SENTINELS: 's1:26379, s2:26379,[::1]:26380,', REDIS_SENTINEL_NAME: 'mymaster' },
      {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        sentinelName: 'mymaster',
      },
    ],
    [
      'cluster with password',
      { REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001', REDIS_PASSWORD: 'p' },
      {
        clusterNodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
        ],
        password: 'p',
      },
    ],
  ])('%s', (_name, env, expected) => {
    expect(redisOptionsFromEnv(env)).toEqual(expected);
  });

  it.each([
    ['not a URL', { REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    ['wrong scheme', { REDIS_URL: 'http://localhost:6379' }, /REDIS_URL/],
    ['sentinels without name', { REDIS_SENTINELS: 's1:26379' }, /REDIS_SENTINEL_NAME/],
    ['name without sentinels', { REDIS_SENTINEL_NAME: 'mymaster' }, /REDIS_SENTINELS/],
    ['sentinel without port', { REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS.*"s1"/],
    ['sentinel port out of range', { REDIS_SENTINELS: 's1:70000', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS/],
    ['only commas', { REDIS_SENTINELS: ' , ', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS/],
    ['cluster node port not a number', { REDIS_CLUSTER_NODES: 'n1:7000,n2:x' }, /REDIS_CLUSTER_NODES.*"n2:x"/],
    ['cluster node port zero', { REDIS_CLUSTER_NODES: 'n1:0' }, /REDIS_CLUSTER_NODES/],
    ['two modes', { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'n1:7000' }, /REDIS_URL and REDIS_CLUSTER_NODES/],
    ['password alone', { REDIS_PASSWORD: 'p' }, /REDIS_PASSWORD/],
  ])('rejects %s', (_name, env, message) => {
    expect(() => redisOptionsFromEnv(env)).toThrow(message);
  });
});
