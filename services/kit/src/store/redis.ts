import { Cluster, Redis } from 'ioredis';
import type { KeyValueStore, SetOptions } from './types';

export interface RedisStoreOptions {
  /** Single Redis, e.g. redis://:password@host:6379/0 (rediss:// for TLS). */
  url?: string;
  /** Redis Sentinel: the sentinels to ask, and the monitored master's name. */
  sentinels?: { host: string; port: number }[];
  sentinelName?: string;
  /** Redis Cluster: some of its nodes (the rest are discovered). */
  clusterNodes?: { host: string; port: number }[];
  password?: string;
  /** Prepended to every key, so tests (or tenants) sharing a Redis never collide. */
  keyPrefix?: string;
  /** Shown by CLIENT LIST, to tell the services apart. */
  connectionName?: string;
}

/** ping() gives up after this long instead of waiting on the offline queue. */
const PING_TIMEOUT_MS = 1000;

/** A new counter gets its expiry in the same atomic step as its first increment. */
const INCR_SCRIPT = `
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[2])
if existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return value`;

/**
 * Adds to a set and extends (never shortens) its expiry; a set that has no expiry keeps none.
 * The index of a member's sessions must outlive every session it lists.
 */
const SADD_TTL_SCRIPT = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if existed == 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  local current = redis.call('PTTL', KEYS[1])
  if current >= 0 and current < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 0`;

interface Scripts {
  evshareIncr(key: string, ttlMs: number, by: number): Promise<number>;
  evshareSaddTtl(key: string, member: string, ttlMs: number): Promise<number>;
}

type Client = Redis | Cluster;

function createClient(options: RedisStoreOptions): Client {
  const common = {
    keyPrefix: options.keyPrefix,
    connectionName: options.connectionName,
    // Closing while Redis is unreachable leaves ioredis's socket-destroy timer running this long
    // (default 2 s), holding the process open at shutdown for nothing.
    disconnectTimeout: 300,
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  if (options.clusterNodes?.length) {
    // The poll is the hot path: pipelining batches concurrent commands per node.
    return new Cluster(options.clusterNodes, { enableAutoPipelining: true, redisOptions: common });
  }
  if (options.sentinels?.length) {
    if (!options.sentinelName) throw new Error('Redis Sentinel needs sentinelName (the master name)');
    return new Redis({ ...common, sentinels: options.sentinels, name: options.sentinelName, enableAutoPipelining: true });
  }
  if (!options.url) throw new Error('Redis needs one of url, sentinels or clusterNodes');
  return new Redis(options.url, { ...common, enableAutoPipelining: true });
}

/** The key-value store on Redis: single server, Sentinel or Cluster (through ioredis). */
export function createRedisStore(options: RedisStoreOptions): KeyValueStore {
  const client = createClient(options);
  let lastError: Error | undefined;
  // Connection errors surface through ping() and failing commands; without a listener ioredis
  // would print every reconnect attempt to the console.
  client.on('error', (error: Error) => {
    lastError = error;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  client.defineCommand('evshareIncr', { lua: INCR_SCRIPT, numberOfKeys: 1 });
  client.defineCommand('evshareSaddTtl', { lua: SADD_TTL_SCRIPT, numberOfKeys: 1 });
  const scripts = client as unknown as Scripts;

  return {
    kind: 'redis',
    get: (key) => client.get(key),
    async set(key: string, value: string, options: SetOptions = {}) {
      const { ttlMs, onlyIfAbsent, onlyIfPresent } = options;
      if (onlyIfAbsent && onlyIfPresent) throw new Error('set: onlyIfAbsent and onlyIfPresent exclude each other');
      let reply: string | null;
      if (ttlMs !== undefined && onlyIfAbsent) reply = await client.set(key, value, 'PX', ttlMs, 'NX');
      else if (ttlMs !== undefined && onlyIfPresent) reply = await client.set(key, value, 'PX', ttlMs, 'XX');
      else if (ttlMs !== undefined) reply = await client.set(key, value, 'PX', ttlMs);
      else if (onlyIfAbsent) reply = await client.set(key, value, 'NX');
      else if (onlyIfPresent) reply = await client.set(key, value, 'XX');
      else reply = await client.set(key, value);
      return reply === 'OK';
    },
    del: (key) => client.del(key),
    expire: async (key, ttlMs) => (await client.pexpire(key, ttlMs)) === 1,
    pttl: (key) => client.pttl(key),
    incr: async (key, ttlMs, by = 1) => Number(await scripts.evshareIncr(key, ttlMs, by)),
    async sadd(key, member, ttlMs) {
      if (ttlMs === undefined) await client.sadd(key, member);
      else await scripts.evshareSaddTtl(key, member, ttlMs);
    },
    async srem(key, member) {
      await client.srem(key, member);
    },
    smembers: (key) => client.smembers(key),
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const cause = lastError ? `: ${lastError.message}` : '';
          reject(new Error(`redis did not answer PING within ${PING_TIMEOUT_MS} ms${cause}`));
        }, PING_TIMEOUT_MS);
      });
      const pong = client.ping();
      // The queued PING may still fail long after the race is lost; that is expected.
      pong.catch(() => undefined);
      try {
        await Promise.race([pong, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      // QUIT waits for pending replies; it would wait for a reconnect that may never come.
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    },
  };
}

function parseHostPorts(variable: string, value: string): { host: string; port: number }[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new Error(`${variable}: expected a comma-separated list of host:port, got ${JSON.stringify(value)}`);
  return items.map((item) => {
    // host:port, or [ipv6]:port
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(item);
    const port = Number(match?.[3]);
    const host = match?.[1] ?? match?.[2];
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${variable}: expected host:port, got ${JSON.stringify(item)}`);
    }
    return { host, port };
  });
}

/**
 * Reads the Redis connection from the environment: REDIS_URL, or REDIS_SENTINELS (host:port,...)
 * with REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES (host:port,...); REDIS_PASSWORD applies to
 * any of them. Undefined when none is set (the embedded in-process store is then used).
 * Throws an Error naming the variable when a value is malformed or the combination is ambiguous.
 */
export function redisOptionsFromEnv(env: NodeJS.ProcessEnv): RedisStoreOptions | undefined {
  // An empty variable means "not set", as in parseConfig.
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const url = read('REDIS_URL');
  const sentinels = read('REDIS_SENTINELS');
  const sentinelName = read('REDIS_SENTINEL_NAME');
  const clusterNodes = read('REDIS_CLUSTER_NODES');
  const password = read('REDIS_PASSWORD');

  const modes = [
    ['REDIS_URL', url],
    ['REDIS_SENTINELS', sentinels],
    ['REDIS_CLUSTER_NODES', clusterNodes],
  ].filter(([, value]) => value !== undefined);
  if (modes.length > 1) throw new Error(`${modes.map(([name]) => name).join(' and ')}: set only one of them`);
  if (sentinelName !== undefined && sentinels === undefined) throw new Error('REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set');
  if (modes.length === 0) {
    if (password !== undefined) throw new Error('REDIS_PASSWORD: set, but none of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES is');
    return undefined;
  }

  const options: RedisStoreOptions = password === undefined ? {} : { password };
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // The value is not echoed: it may carry the password.
      throw new Error('REDIS_URL: not a URL (expected redis://[:password@]host:port[/db])');
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new Error(`REDIS_URL: expected redis:// or rediss://, got ${JSON.stringify(parsed.protocol)}`);
    }
    if (!parsed.hostname) throw new Error('REDIS_URL: missing host');
    options.url = url;
  }
  if (sentinels !== undefined) {
    if (sentinelName === undefined) throw new Error('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master name)');
    options.sentinels = parseHostPorts('REDIS_SENTINELS', sentinels);
    options.sentinelName = sentinelName;
  }
  if (clusterNodes !== undefined) options.clusterNodes = parseHostPorts('REDIS_CLUSTER_NODES', clusterNodes);
  return options;
}
