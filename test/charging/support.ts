import { RPCClient } from 'ocpp-rpc';
import {
  ALL_STREAMS,
  createLogger,
  createNatsBus,
  createPool,
  createRedisStore,
  createSessionStore,
  hashPassword,
  parseConfig,
  TEST_REDIS_URL,
  type Bus,
  type KeyValueStore,
  type Pool,
  type RunningService,
  type SessionStore,
} from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { billingConfigSchema, startBilling } from '@evshare/billing';
import { chargingConfigSchema, provisionPiles, startCharging, type PileCredentials, type RunningCharging } from '@evshare/charging';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { request, type Reply } from '../support/http';
import { newVin } from '../rental/support';

/**
 * The charging service on real PostgreSQL, NATS and Redis, with the billing service beside it so
 * a finished charging session lands in the ledger. Members, cards, a station, cars and piles are
 * written straight to the database.
 */
export interface ChargingBench {
  env: Record<string, string>;
  db: Pool;
  bus: Bus;
  sessions: SessionStore;
  charging: RunningCharging;
  /** Extra charging instances started with startInstance(). */
  instances: RunningCharging[];
  ocppUrl: string;
  stationId: string;
  vehicles: Array<{ id: string; vin: string }>;
  member: { id: string; key: string; card: string };
  admin: { id: string; key: string };
  piles: PileCredentials[];
  api(method: string, path: string, key: string | undefined, body?: unknown, base?: string): Promise<Reply>;
  startInstance(id: string): Promise<RunningCharging>;
  /** An ocpp-rpc client for a pile (not connected). */
  client(pile: PileCredentials, overrides?: { password?: string; identity?: string; endpoint?: string }): RPCClient;
  createMember(options?: { balanceFen?: number; role?: 'member' | 'admin'; status?: string }): Promise<{ id: string; key: string; card: string }>;
  stop(): Promise<void>;
}

let cardSerial = Math.floor(Math.random() * 1e6);

export async function startChargingBench(options: { env?: Record<string, string>; piles?: number; vehicles?: number } = {}): Promise<ChargingBench> {
  const database = await createTestDatabase();
  const env = testEnvironment(database.url, {
    CHARGING_TICK_MS: '200',
    SMART_CHARGING_DEBOUNCE_MS: '50',
    SMART_CHARGING_INTERVAL_MS: '600000',
    OCPP_CALL_TIMEOUT_MS: '3000',
    ...options.env,
  });
  const log = createLogger('charging-test', env.LOG_LEVEL);
  const db = createPool(database.url, { max: 10 });
  await migrateDatabase(db);
  const bus = await createNatsBus({ url: env.NATS_URL!, prefix: env.NATS_SUBJECT_PREFIX });
  await bus.ensureStreams(ALL_STREAMS);
  const store: KeyValueStore = createRedisStore({ url: TEST_REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX });
  const sessions = createSessionStore({ store, bus });
  const billing: RunningService = await startBilling({ config: parseConfig(billingConfigSchema, { ...env, PORT: '0' }), log, db, bus, cache: store });
  const instances: RunningCharging[] = [];
  const startInstance = async (id: string) => {
    const config = parseConfig(chargingConfigSchema, { ...env, PORT: '0', INSTANCE_ID: id });
    const running = await startCharging({ config, log: log.child({ instance: id }), db, bus, sessions });
    instances.push(running);
    return running;
  };
  const charging = await startInstance('charging-a');

  const { rows: stations } = await db.query<{ id: string }>(
    `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy, charging_cap_w) VALUES ('Charging test', 31.2, 121.4, 200, 20, 'open', 22000) RETURNING id`,
  );
  const stationId = stations[0]!.id;
  const vehicles: ChargingBench['vehicles'] = [];
  for (let i = 0; i < (options.vehicles ?? 3); i++) {
    const vin = newVin();
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id, soc_pct) VALUES ($1, $2, 'Test EV', 60, 400, $3, $3, 40) RETURNING id`,
      [vin, `沪T${vin.slice(-5)}`, stationId],
    );
    vehicles.push({ id: rows[0]!.id, vin });
  }
  const passwordHash = await hashPassword('not-used-here');
  const createMember: ChargingBench['createMember'] = async (o = {}) => {
    cardSerial += 1;
    const card = `E5${String(cardSerial).padStart(8, '0')}`;
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO members (username, display_name, password_hash, role, status, wallet_balance_fen) VALUES ($1, 'Charging test', $2, $3, $4, $5) RETURNING id`,
      [`c${card.toLowerCase()}`, passwordHash, o.role ?? 'member', o.status ?? 'active', o.balanceFen ?? 100_000],
    );
    const id = rows[0]!.id;
    await db.query('INSERT INTO membership_cards (uid, member_id, bound_at) VALUES ($1, $2, now())', [card, id]);
    const { key } = await sessions.create({ memberId: id, role: o.role ?? 'member', address: '127.0.0.1' });
    return { id, key, card };
  };
  const member = await createMember();
  const admin = await createMember({ role: 'admin' });
  const piles = await provisionPiles(db, stationId, options.piles ?? 3, { prefix: `T${Date.now().toString(36)}-` });
  const ocppUrl = `${charging.url.replace('http', 'ws')}/ocpp`;

  return {
    env,
    db,
    bus,
    sessions,
    charging,
    instances,
    ocppUrl,
    stationId,
    vehicles,
    member,
    admin,
    piles,
    startInstance,
    createMember,
    api: (method, path, key, body, base) =>
      request(`${base ?? charging.url}${path}`, { method, ...(body === undefined ? {} : { body }), headers: key ? { authorization: `Bearer ${key}` } : {} }),
    client(pile, overrides = {}) {
      const clientOptions: Partial<ConstructorParameters<typeof RPCClient>[0]> = {
        endpoint: overrides.endpoint ?? ocppUrl,
        identity: overrides.identity ?? pile.id,
        password: overrides.password ?? pile.password,
        protocols: ['ocpp1.6'],
        strictMode: true,
        reconnect: false,
      };
      return new RPCClient(clientOptions as ConstructorParameters<typeof RPCClient>[0]);
    },
    async stop() {
      for (const instance of instances.reverse()) await instance.stop();
      await billing.stop();
      sessions.close();
      await store.close();
      await bus.close();
      await db.end();
      await database.drop();
    },
  };
}

export const nowIso = () => new Date().toISOString();
