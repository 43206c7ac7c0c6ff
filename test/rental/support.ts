import pg from 'pg';
import {
  STREAMS,
  SUBJECTS,
  TEST_NATS_URL,
  TEST_REDIS_URL,
  createMemoryBus,
  createNatsBus,
  createRedisStore,
  createSessionStore,
  deductionMessageSchema,
  hashPassword,
  type Bus,
  type Consumer,
  type DeductionMessage,
} from '@evshare/kit';
import { bearer, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * A rental test bench: the whole platform, a database and bus connection for setting up and
 * observing, members created cheaply, and the cars' side of the unlock contract: the bench answers
 * the commands on the bus the way the vehicle link and a car terminal would, so the platform runs
 * without its own telematics service (test/vehicles drives the real link).
 */
export interface RentalBench {
  platform: TestPlatform;
  gateway: string;
  db: pg.Pool;
  bus: Bus;
  adminKey: string;
  /** Per VIN: how the car answers commands (default: acknowledges). */
  carBehaviour: Map<string, 'ack' | 'refuse' | 'silent'>;
  commands: Array<{ vin: string; commandId: string; action: string; expiresAt: string }>;
  api(method: string, path: string, key: string | undefined, body?: unknown, from?: string): Promise<Reply>;
  admin(method: string, path: string, body?: unknown): Promise<Reply>;
  createMembers(count: number, options?: { licence?: string; depositFen?: number; balanceFen?: number }): Promise<Array<{ id: string; key: string }>>;
  createStation(body?: Partial<StationInput>): Promise<{ id: string; lat: number; lng: number }>;
  createVehicle(stationId: string, body?: Record<string, unknown>): Promise<{ id: string; vin: string; plate: string }>;
  createPlan(body?: Record<string, unknown>): Promise<{ id: string }>;
  /** Stands in for the vehicle link: the car reports its position, odometer and doors. */
  reportVehicle(
    vehicleId: string,
    report: {
      lat?: number;
      lng?: number;
      odometerM?: number;
      doorsLocked?: boolean;
      socPct?: number;
      doorsOpen?: boolean;
      ignition?: boolean;
      cableConnected?: boolean;
      reportedAt?: Date;
    },
  ): Promise<void>;
  /** Every deduction published on the platform's DEDUCTIONS stream, with its delivery count per reference. */
  deductions(): Promise<{ messages: DeductionMessage[]; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

interface StationInput {
  name: string;
  lat: number;
  lng: number;
  geofenceRadiusM: number;
  capacity: number;
  returnPolicy: 'round-trip' | 'open';
}

const VIN_ALPHABET = '0123456789ABCDEFGHJKLMNPRSTUVWXYZ';
let serial = 0;
export function newVin(): string {
  serial += 1;
  let n = serial;
  let tail = '';
  for (let i = 0; i < 8; i++) {
    tail = VIN_ALPHABET[n % VIN_ALPHABET.length]! + tail;
    n = Math.floor(n / VIN_ALPHABET.length);
  }
  return `LEVSHARE0${tail}`;
}

/**
 * `vehicleLink: true` runs the platform's own telematics service (stack.mqttUrl) for simulated
 * terminals; set carBehaviour 'silent' for their cars, so the bench's stand-in does not answer too.
 */
export async function startRentalBench(options: { appInstances?: number; env?: Record<string, string>; vehicleLink?: boolean } = {}): Promise<RentalBench> {
  const platform = await startTestPlatform({
    appInstances: options.appInstances ?? 2,
    env: { DATABASE_POOL_SIZE: '20', QUEUE_TIMEOUT_MS: '30000', ...options.env },
    vehicleLink: options.vehicleLink ?? false,
  });
  const gateway = platform.stack.gatewayUrl;
  const db = new pg.Pool({ connectionString: platform.env.DATABASE_URL, max: 5 });
  const bus = await createNatsBus({ url: TEST_NATS_URL, prefix: platform.env.NATS_SUBJECT_PREFIX });
  const store = createRedisStore({ url: TEST_REDIS_URL, keyPrefix: platform.env.REDIS_KEY_PREFIX });
  const sessions = createSessionStore({ store, bus: createMemoryBus() });
  const adminKey = await login(gateway, platform.admin.account, platform.admin.password);
  const carBehaviour = new Map<string, 'ack' | 'refuse' | 'silent'>();
  const commands: RentalBench['commands'] = [];
  const handled = new Set<string>();
  bus.subscribe(SUBJECTS.vehicleCommandAll, (data) => {
    const command = data as RentalBench['commands'][number];
    commands.push(command);
    // A car executes a command id once and ignores an expired command (the contract).
    if (!['unlock', 'lock', 'locate', 'report'].includes(command.action) || handled.has(command.commandId) || Date.parse(command.expiresAt) < Date.now())
      return;
    const behaviour = carBehaviour.get(command.vin) ?? 'ack';
    if (behaviour === 'silent') return;
    handled.add(command.commandId);
    void (async () => {
      // What the car's next report says after the command (the vehicle link would write it).
      if (behaviour === 'ack' && command.action === 'report') await db.query('UPDATE vehicles SET reported_at = now() WHERE vin = $1', [command.vin]);
      if (behaviour === 'ack' && command.action === 'lock')
        await db.query('UPDATE vehicles SET doors_locked = true, reported_at = now() WHERE vin = $1', [command.vin]);
      bus.publish(
        SUBJECTS.vehicleAck(command.vin),
        behaviour === 'ack' ? { commandId: command.commandId, ok: true } : { commandId: command.commandId, ok: false, reason: 'door actuator fault' },
      );
    })();
  });
  await bus.flush();
  const passwordHash = await hashPassword('rental-bench-password');
  let memberSerial = 0;
  let stationSerial = 0;

  const api: RentalBench['api'] = (method, path, key, body, from) =>
    request(`${gateway}${path}`, {
      method,
      headers: key ? bearer(key) : {},
      ...(body === undefined ? {} : { body }),
      ...(from ? { from } : {}),
      timeoutMs: 40_000,
    });
  const admin: RentalBench['admin'] = (method, path, body) => api(method, path, adminKey, body);
  const created = (reply: Reply) => {
    if (reply.status !== 201) throw new Error(`expected 201, got ${reply.status}: ${reply.body}`);
    return reply.json();
  };

  return {
    platform,
    gateway,
    db,
    bus,
    adminKey,
    carBehaviour,
    commands,
    api,
    admin,
    // Members straight into the database with one shared hash, and sessions straight into the
    // session store: logging in a thousand members would test argon2, not renting.
    async createMembers(count, { licence = 'approved', depositFen = 50_000, balanceFen = 10_000 } = {}) {
      const names = Array.from({ length: count }, () => `rb${(memberSerial += 1)}x${Date.now().toString(36)}`);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO members (username, display_name, password_hash, licence_status, deposit_fen, wallet_balance_fen)
         SELECT u, 'Bench ' || u, $2, $3, $4, $5 FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n RETURNING id`,
        [names, passwordHash, licence, depositFen, balanceFen],
      );
      return Promise.all(rows.map(async ({ id }) => ({ id, key: (await sessions.create({ memberId: id, role: 'member', address: '127.0.0.1' })).key })));
    },
    async createStation(body = {}) {
      stationSerial += 1;
      return created(
        await admin('POST', '/api/v1/admin/stations', {
          name: `Station ${stationSerial}`,
          lat: 31.2 + stationSerial / 100,
          lng: 121.4,
          geofenceRadiusM: 150,
          capacity: 20,
          returnPolicy: 'open',
          ...body,
        }),
      ) as { id: string; lat: number; lng: number };
    },
    async createVehicle(stationId, body = {}) {
      const vin = newVin();
      return created(
        await admin('POST', '/api/v1/admin/vehicles', {
          vin,
          plate: `沪A${vin.slice(-5)}`,
          model: 'Bench EV',
          batteryKwh: 42.5,
          ratedRangeKm: 400,
          homeStationId: stationId,
          ...body,
        }),
      ) as { id: string; vin: string; plate: string };
    },
    async createPlan(body = {}) {
      return created(
        await admin('POST', '/api/v1/admin/pricing-plans', {
          name: 'Bench plan',
          perMinuteFen: 50,
          perKmFen: 100,
          dailyCapFen: 20_000,
          minimumFen: 500,
          reservationFeeFen: 300,
          oneWayFeeFen: 2_000,
          oneWayPerKmFen: 0,
          depositFen: 10_000,
          validFrom: '2020-01-01T00:00:00Z',
          ...body,
        }),
      ) as { id: string };
    },
    async reportVehicle(vehicleId, report) {
      await db.query(
        `UPDATE vehicles SET lat = coalesce($2, lat), lng = coalesce($3, lng), odometer_m = coalesce($4, odometer_m),
           doors_locked = coalesce($5, doors_locked), soc_pct = coalesce($6, soc_pct), doors_open = coalesce($7, doors_open),
           ignition = coalesce($8, ignition), cable_connected = coalesce($9, cable_connected), reported_at = coalesce($10, now()) WHERE id = $1`,
        [
          vehicleId,
          report.lat ?? null,
          report.lng ?? null,
          report.odometerM ?? null,
          report.doorsLocked ?? null,
          report.socPct ?? null,
          report.doorsOpen ?? null,
          report.ignition ?? null,
          report.cableConnected ?? null,
          report.reportedAt ?? null,
        ],
      );
    },
    async deductions() {
      const messages: DeductionMessage[] = [];
      const consumer: Consumer = await bus.consume(STREAMS.deductions.name, `rental_test_${Date.now().toString(36)}`, async (message) => {
        messages.push(deductionMessageSchema.parse(message.data));
      });
      return { messages, stop: () => consumer.stop() };
    },
    async stop() {
      await bus.close();
      sessions.close();
      await store.close();
      await db.end();
      await platform.stop();
    },
  };
}

/** Asserts an RFC 7807 problem with this status (and type slug, when given). */
export function expectProblem(reply: Reply, status: number, slug?: string, field?: string): void {
  if (reply.status !== status) throw new Error(`expected ${status}${slug ? ` ${slug}` : ''}, got ${reply.status}: ${reply.body}`);
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = reply.json<{ type: string; status: number; detail?: string; 'invalid-params'?: Array<{ name: string }> }>();
  expect(problem.status).toBe(status);
  if (slug) expect(problem.type).toBe(`urn:evshare:problem:${slug}`);
  if (field) expect(problem['invalid-params']?.map((p) => p.name)).toContain(field);
}
