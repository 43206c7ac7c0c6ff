/**
 * The session store on the real Redis and NATS (and on the in-process store and bus, which must
 * behave the same): revocation reaches long-lived sessions, and a refresh never brings a revoked
 * session back.
 */
import { Redis } from 'ioredis';
import { createMemoryBus } from '../bus/memory';
import { createNatsBus } from '../bus/nats';
import type { Bus } from '../bus/types';
import { createMemoryStore } from '../store/memory';
import { createRedisStore } from '../store/redis';
import type { KeyValueStore } from '../store/types';
import { TEST_NATS_URL, TEST_REDIS_URL, uniqueName } from '../testing';
import { hashSessionKey } from './key';
import { createSessionStore, type SessionStore } from './store';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const backends: Array<[string, () => Promise<{ store: KeyValueStore; bus: Bus; prefix?: string }>]> = [
  ['memory', async () => ({ store: createMemoryStore(), bus: createMemoryBus() })],
  [
    'redis + nats',
    async () => {
      const prefix = `${uniqueName('sess')}:`;
      return {
        store: createRedisStore({ url: TEST_REDIS_URL, keyPrefix: prefix }),
        bus: await createNatsBus({ url: TEST_NATS_URL, prefix: prefix.slice(0, -1) }),
        prefix,
      };
    },
  ],
];

describe.each(backends)('session store on %s', (_name, make) => {
  let store: KeyValueStore;
  let bus: Bus;
  let prefix: string | undefined;
  const opened: SessionStore[] = [];
  const sessions = (ttlMs: number) => {
    const created = createSessionStore({ store, bus, ttlMs, cacheTtlMs: 100 });
    opened.push(created);
    return created;
  };

  beforeEach(async () => {
    ({ store, bus, prefix } = await make());
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) s.close();
    if (prefix) {
      const admin = new Redis(TEST_REDIS_URL);
      for await (const keys of admin.scanStream({ match: `${prefix}*`, count: 500 })) if ((keys as string[]).length) await admin.del(...(keys as string[]));
      admin.disconnect();
    }
    await store.close();
    await bus.close();
  });

  it('long-lived session revoked at password change and suspension: the member index lives as long as its sessions', async () => {
    // Kept alive by polling for more than twice the time to live (the index's first expiry).
    const ttlMs = 400;
    const instance = sessions(ttlMs);
    const { key, record } = await instance.create({ memberId: 'm-long', role: 'member', address: '10.0.0.1' });
    const until = Date.now() + ttlMs * 3;
    while (Date.now() < until) {
      expect(await instance.resolve(key)).not.toBeNull();
      await sleep(40);
    }
    expect((await instance.sessionsOf('m-long')).map((s) => s.sessionHash)).toEqual([record.sessionHash]);
    expect(await instance.revokeMember('m-long', 'password-changed')).toBe(1);
    expect(await instance.resolve(key)).toBeNull();
    expect(await sessions(ttlMs).resolve(key)).toBeNull();
  });

  it('refresh racing logout does not resurrect the session', async () => {
    // Session writes reach the store late, as under load: the refresh of an access that read the
    // record before the logout lands after the logout's delete.
    const late: KeyValueStore = {
      ...store,
      set: async (key, value, options) => {
        await sleep(25);
        return store.set(key, value, options);
      },
    };
    const a = createSessionStore({ store: late, bus, ttlMs: 60_000, cacheTtlMs: 100 });
    opened.push(a);
    const b = sessions(60_000);
    for (let i = 0; i < 20; i++) {
      const { key } = await a.create({ memberId: `m-race-${i % 4}`, role: 'member', address: '10.0.0.1' });
      // A new serving instance forces the refresh write; the logout runs on another instance.
      const racers = [a.resolve(key, { appId: `app-${i}` }), b.revoke(hashSessionKey(key), 'logout')] as const;
      await Promise.all(i % 2 ? racers : [...racers].reverse());
      await sleep(60);
      expect(await store.get(`sess:${hashSessionKey(key)}`)).toBeNull();
      expect(await sessions(60_000).resolve(key)).toBeNull();
    }
  });

  it('an instance that read the record just before the revocation does not answer with it afterwards', async () => {
    const a = sessions(60_000);
    const { key, record } = await a.create({ memberId: 'm-cache', role: 'member', address: '10.0.0.1' });
    const lookup = a.resolve(key, { appId: 'app-x' });
    await a.revoke(record.sessionHash, 'logout');
    await lookup;
    expect(await a.resolve(key)).toBeNull();
  });
});
