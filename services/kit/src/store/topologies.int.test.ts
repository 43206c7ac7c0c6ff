/**
 * The KeyValueStore contract against the Redis topologies other than a single server: a Redis
 * Cluster of three masters, and a master + replica behind a Sentinel (including a failover).
 * Each topology runs from its own redis-server processes on free loopback ports (never 6379).
 */
import { Redis } from 'ioredis';
import { uniqueName } from '../testing';
import { createRedisStore, redisOptionsFromEnv } from './redis';
import { type ClusterTopology, HOST, redisCall, RedisTopology, type SentinelTopology, startCluster, startSentinel } from './redis-topology.testkit';
import { storeContract } from './store.contract';
import type { KeyValueStore } from './types';

function fromEnv(env: NodeJS.ProcessEnv) {
  const options = redisOptionsFromEnv(env);
  if (!options) throw new Error(`redisOptionsFromEnv(${JSON.stringify(env)}) chose no Redis`);
  return options;
}

/** Every key under prefix on the server at port. */
async function keysOn(port: number, prefix: string): Promise<string[]> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const keys: string[] = [];
    for await (const batch of client.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
    return keys;
  } finally {
    client.disconnect();
  }
}

describe('redis cluster (3 masters)', () => {
  let topology: RedisTopology | undefined;
  let cluster: ClusterTopology;
  const prefixes: string[] = [];

  beforeAll(async () => {
    topology = new RedisTopology();
    cluster = await startCluster(topology, 3);
    // Counted from here: the contract must cause no redirection or cross-slot errors.
    await Promise.all(cluster.nodes.map((node) => redisCall(node.port, 'CONFIG', 'RESETSTAT')));
  });
  afterAll(async () => {
    await topology?.stop();
  });

  storeContract('redis cluster', async () => {
    const keyPrefix = `${uniqueName('cluster')}:`;
    prefixes.push(keyPrefix);
    return createRedisStore({ ...fromEnv({ REDIS_CLUSTER_NODES: cluster.nodeList }), keyPrefix, connectionName: 'kit-store-cluster-test' });
  });

  // Runs after the contract (tests run in declaration order): its keys are still there.
  it('the contract spread its keys, prefixed, over more than one node, without redirections', async () => {
    expect(prefixes.length).toBeGreaterThan(0);
    const perNode = await Promise.all(cluster.nodes.map(async (node) => (await Promise.all(prefixes.map((prefix) => keysOn(node.port, prefix)))).flat()));
    const nodesWithKeys = perNode.filter((keys) => keys.length > 0).length;
    expect(nodesWithKeys).toBeGreaterThan(1);
    // Every key carries one of the prefixes (keyPrefix applied in cluster mode).
    const all = perNode.flat();
    expect(all.length).toBeGreaterThan(5);
    for (const key of all) expect(prefixes.some((prefix) => key.startsWith(prefix))).toBe(true);
    // ioredis routed every command (scripts included) to the node owning its slot, and no
    // command spanned slots: the nodes replied no MOVED/ASK/CROSSSLOT/CLUSTERDOWN/TRYAGAIN.
    const clusterErrors = /^errorstat_(MOVED|ASK|CROSSSLOT|CLUSTERDOWN|TRYAGAIN):.*$/gm;
    for (const node of cluster.nodes) {
      const errors = String(await redisCall(node.port, 'INFO', 'errorstats')).match(clusterErrors) ?? [];
      expect({ node: node.name, errors }).toEqual({ node: node.name, errors: [] });
    }
  });
});

describe('redis sentinel (master + replica + 1 sentinel)', () => {
  let topology: RedisTopology | undefined;
  let sentinel: SentinelTopology;
  const options = () => ({
    ...fromEnv({ REDIS_SENTINELS: `${HOST}:${sentinel.sentinel.port}`, REDIS_SENTINEL_NAME: sentinel.masterName }),
    connectionName: 'kit-store-sentinel-test',
  });

  beforeAll(async () => {
    topology = new RedisTopology();
    sentinel = await startSentinel(topology, 'evshare');
  });
  afterAll(async () => {
    await topology?.stop();
  });

  storeContract('redis sentinel', async () => createRedisStore({ ...options(), keyPrefix: `${uniqueName('sentinel')}:` }));

  // Last: it kills the master.
  describe('failover', () => {
    let store: KeyValueStore | undefined;
    afterAll(async () => {
      await store?.close();
    });

    it('keeps working after the sentinel promotes the replica', async () => {
      const { master, replica } = sentinel;
      const keyPrefix = `${uniqueName('failover')}:`;
      store = createRedisStore({ ...options(), keyPrefix });
      expect(await sentinel.currentMasterPort()).toBe(master.port);
      expect(await store.set('before', 'kept')).toBe(true);
      expect(await store.sadd('index', 'a', 60_000)).toBeUndefined();

      // WAIT covers only this connection's own writes; the replication stream is ordered, so once
      // the replica has acknowledged this write it has the store's writes before it too.
      const raw = new Redis({ host: HOST, port: master.port, lazyConnect: true, maxRetriesPerRequest: 0 });
      raw.on('error', () => undefined);
      try {
        await raw.connect();
        await raw.set(`${keyPrefix}marker`, '1');
        expect(await raw.call('WAIT', 1, 5000)).toBe(1);
      } finally {
        raw.disconnect();
      }
      expect(await redisCall(replica.port, 'GET', `${keyPrefix}before`)).toBe('kept');

      await master.kill('SIGKILL');
      const started = Date.now();
      await topology!.waitFor(
        `the sentinel to promote the replica (port ${replica.port}) after the master (port ${master.port}) was killed`,
        async () => (await sentinel.currentMasterPort()) === replica.port,
        20_000,
      );
      const failoverMs = Date.now() - started;

      expect(await store.get('before')).toBe('kept');
      expect(await store.smembers('index')).toEqual(['a']);
      expect(await store.set('after', 'new')).toBe(true);
      expect(await store.get('after')).toBe('new');
      expect(await store.incr('count', 60_000)).toBe(1);
      await expect(store.ping()).resolves.toBeUndefined();
      // The new writes went to the promoted replica.
      expect(await redisCall(replica.port, 'GET', `${keyPrefix}after`)).toBe('new');
      expect(failoverMs).toBeLessThan(20_000);
    });
  });
});
