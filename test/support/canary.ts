import { RPCClient } from 'ocpp-rpc';
import WebSocket from 'ws';
import { createPool } from '@evshare/kit';
import { provisionPiles, type PileCredentials } from '@evshare/charging';
import { bearer, login, request } from './http';
import type { TestPlatform } from './platform';
import { messageText } from './ws';

/**
 * An ordinary member and an ordinary pile, used after hostile traffic to show the platform still
 * serves: the member logs in, polls /api/v1/sync and opens /push; the pile connects over OCPP.
 */
export interface Canary {
  pile: PileCredentials;
  /** A second pile, for tests that send hostile frames after a real handshake. */
  spare: PileCredentials;
  check(): Promise<void>;
}

export async function createCanary(platform: TestPlatform): Promise<Canary> {
  const db = createPool(platform.env.DATABASE_URL!, { max: 1 });
  let piles: PileCredentials[];
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy, charging_cap_w) VALUES ('Canary', 31.2, 121.4, 200, 10, 'open', 22000) RETURNING id`,
    );
    piles = await provisionPiles(db, rows[0]!.id, 2, { prefix: `CANARY${Date.now().toString(36)}-` });
  } finally {
    await db.end();
  }
  const gateway = platform.stack.gatewayUrl;
  return {
    pile: piles[0]!,
    spare: piles[1]!,
    async check() {
      const key = await login(gateway, platform.member.account, platform.member.password);
      const sync = await request(`${gateway}/api/v1/sync`, { headers: bearer(key) });
      if (sync.status !== 200) throw new Error(`canary: /api/v1/sync answered ${sync.status} ${sync.body}`);
      await pushWelcome(gateway, key);
      await ocppBoot(gateway, piles[0]!);
    },
  };
}

/** Opens /push with the key and waits for the welcome frame. */
export function pushWelcome(gateway: string, key: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gateway.replace('http', 'ws')}/push`, { headers: bearer(key) });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('canary: no welcome frame on /push'));
    }, timeoutMs);
    ws.on('message', (data) => {
      const frame = JSON.parse(messageText(data)) as { type: string };
      if (frame.type !== 'welcome') return;
      clearTimeout(timer);
      ws.close();
      resolve();
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`canary: /push failed: ${error.message}`));
    });
  });
}

/** Connects the pile through the gateway, boots it and disconnects. */
export async function ocppBoot(gateway: string, pile: PileCredentials): Promise<void> {
  const client = new RPCClient({
    endpoint: `${gateway.replace('http', 'ws')}/ocpp`,
    identity: pile.id,
    password: pile.password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
  } as ConstructorParameters<typeof RPCClient>[0]);
  await client.connect();
  try {
    const answer = (await client.call('BootNotification', { chargePointVendor: 'evshare', chargePointModel: 'canary' })) as { status: string };
    if (answer.status !== 'Accepted') throw new Error(`canary: BootNotification answered ${answer.status}`);
  } finally {
    await client.close({ force: true });
  }
}

/** In the processes mode: the services whose process has exited (none should). */
export function exitedServices(platform: TestPlatform): string[] {
  const stack = platform.stack;
  if (!stack.process) return [];
  return Object.keys(stack.urls()).filter((name) => {
    const child = stack.process!(name)?.child;
    return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
  });
}
