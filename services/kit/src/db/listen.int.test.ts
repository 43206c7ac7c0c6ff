import { createLogger } from '../logger';
import { TEST_DATABASE_URL, uniqueName } from '../testing';
import { listenForNotifications, type NotificationListener } from './listen';
import { createPool, type Pool } from './postgres';

const log = createLogger('listen-test', 'silent');

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// LISTEN on real PostgreSQL: notifications arrive, a terminated listening backend is replaced
// (and the caller told to catch up), and close leaves no connection listening.
describe('listenForNotifications', () => {
  let pool: Pool;
  const listeners: NotificationListener[] = [];
  beforeAll(() => {
    pool = createPool(TEST_DATABASE_URL, { max: 4 });
  });
  afterAll(async () => {
    for (const listener of listeners) await listener.close();
    await pool.end();
  });

  const backendsListening = async (channel: string) => {
    const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN ${channel}`]);
    return rows.map((r) => r.pid);
  };

  it('delivers notifications, listens again after the connection broke, and lets go on close', async () => {
    const channel = uniqueName('chan_');
    const payloads: string[] = [];
    let reconnects = 0;
    const listener = await listenForNotifications(pool, {
      channel,
      log,
      retryMs: 50,
      onNotification: (payload) => payloads.push(payload),
      onReconnect: () => (reconnects += 1),
    });
    listeners.push(listener);
    expect(listener.listening()).toBe(true);

    await pool.query('SELECT pg_notify($1, $2)', [channel, 'one']);
    await pool.query('SELECT pg_notify($1, $2)', [`${channel}_other`, 'elsewhere']);
    await until(() => payloads.length === 1);
    expect(payloads).toEqual(['one']);

    const [pid] = await backendsListening(channel);
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await until(() => reconnects === 1);
    expect(listener.listening()).toBe(true);
    expect(await backendsListening(channel)).not.toContain(pid);
    await pool.query('SELECT pg_notify($1, $2)', [channel, 'two']);
    await until(() => payloads.length === 2);
    expect(payloads).toEqual(['one', 'two']);

    await listener.close();
    expect(listener.listening()).toBe(false);
    await until(async () => (await backendsListening(channel)).length === 0);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('fails to start when it cannot listen, and refuses a channel name it would have to quote', async () => {
    const unreachable = createPool('postgres://postgres@127.0.0.1:1/postgres', { max: 1 });
    const options = { log, retryMs: 50, onNotification: () => undefined, onReconnect: () => undefined };
    await expect(listenForNotifications(unreachable, { ...options, channel: 'fine' })).rejects.toThrow();
    await unreachable.end();
    await expect(listenForNotifications(pool, { ...options, channel: 'drop table; --' })).rejects.toThrow(/invalid channel/);
  });
});
