import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, uniqueName } from '../testing';
import { createMemoryStore } from './memory';
import { createRedisStore } from './redis';
import { storeContract } from './store.contract';

storeContract('memory', async () => createMemoryStore());

const prefixes: string[] = [];
storeContract('redis', async () => {
  const keyPrefix = `${uniqueName('store')}:`;
  prefixes.push(keyPrefix);
  return createRedisStore({ url: TEST_REDIS_URL, keyPrefix, connectionName: 'kit-store-test' });
});

afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL);
  try {
    for (const prefix of prefixes) {
      for await (const keys of admin.scanStream({ match: `${prefix}*`, count: 500 })) {
        if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
      }
    }
  } finally {
    admin.disconnect();
  }
});

/** A loopback port with nothing listening on it. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('redis store without a server', () => {
  it('ping rejects within about a second instead of waiting for a reconnect', async () => {
    const store = createRedisStore({ url: `redis://127.0.0.1:${await unusedPort()}` });
    try {
      const started = Date.now();
      await expect(store.ping()).rejects.toThrow(/did not answer PING.*ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await store.close();
    }
  });
});
