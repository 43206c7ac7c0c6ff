import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import {
  STREAMS,
  SUBJECTS,
  createLogger,
  createMemoryStore,
  createNatsBus,
  deductionSubject,
  smsMessageSchema,
  TEST_NATS_URL,
  type Bus,
  type Consumer,
  type DeductionMessage,
  type PushNotification,
  type SmsMessage,
} from '@evshare/kit';
import { noticeLowBattery, noticeWalkUpStarted, recordTrip, recordWalkUp } from '@evshare/telematics';
import { createRentalNotices } from '../../services/app/src/rental/notices';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { bearer, eventually, request } from '../support/http';
import { expectProblem, startRentalBench, type RentalBench } from './support';

/**
 * Member notices (docs/push.md, "Member notices") on the real platform: each stored once as a
 * notification and, as the notice policy says, once on the SMS stream with its template; the
 * member's SMS choices respected, the bill sent whatever they chose; the expiring-reservation
 * notice once with several APP instances and workers racing; low balance once per crossing; low
 * battery once per rental with the nearby stations that have room and a free charger.
 */

// Every reservation is inside the notice window at once (3-minute holds, told 5 minutes ahead),
// so the three APP instances' sweeps race for each.
const FAST = { UNLOCK_ACK_TIMEOUT_MS: '1500', UNLOCK_RESEND_MS: '400', RENTAL_SWEEP_INTERVAL_MS: '150', RESERVATION_EXPIRING_NOTICE_MINUTES: '5' };
const QUIET_MS = 1_000;

interface StoredNotice {
  kind: string;
  title: string;
  body: Record<string, unknown>;
}

let bench: RentalBench;
let home: { id: string; lat: number; lng: number };
let sms: SmsMessage[];
let smsConsumer: Consumer;
let phoneSerial = 0;

const notices = async (memberId: string, kind: string) =>
  (await bench.db.query<StoredNotice>('SELECT kind, title, body FROM notifications WHERE member_id = $1 AND kind = $2', [memberId, kind])).rows;
const smsTo = (memberId: string, template: SmsMessage['template']) => sms.filter((m) => m.memberId === memberId && m.template === template);
const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));

/** Members with a phone of their own (the SMS rate limit counts per phone). */
async function membersWithPhones(count: number, options: { balanceFen?: number; locale?: 'en' | 'zh-CN' } = {}) {
  const members = await bench.createMembers(count, options.balanceFen === undefined ? {} : { balanceFen: options.balanceFen });
  return Promise.all(
    members.map(async (m) => {
      phoneSerial += 1;
      const phone = `137${String(process.pid % 10_000).padStart(4, '0')}${String(phoneSerial).padStart(4, '0')}`;
      await bench.db.query('UPDATE members SET phone = $2, locale = $3 WHERE id = $1', [m.id, phone, options.locale ?? 'zh-CN']);
      return { ...m, phone };
    }),
  );
}

async function rentAndReturn(member: { key: string }) {
  const car = await bench.createVehicle(home.id, { odometerM: 2_000_000 });
  const rented = await bench.api('POST', '/api/v1/rentals', member.key, { vehicleId: car.id });
  expect(rented.status).toBe(201);
  const rental = rented.json<{ id: string }>();
  await bench.reportVehicle(car.id, { odometerM: 2_003_000, socPct: 70 });
  const returned = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: home.id });
  expect(returned.status).toBe(200);
  return { car, rental, bill: returned.json<{ totalFen: number }>() };
}

beforeAll(async () => {
  bench = await startRentalBench({ appInstances: 3, env: FAST });
  await bench.createPlan({ holdMinutes: 3 });
  home = await bench.createStation({ name: 'Home', returnPolicy: 'round-trip', lat: 31.23, lng: 121.47 });
  sms = [];
  smsConsumer = await bench.bus.consume(STREAMS.sms.name, `notices_test_${Date.now().toString(36)}`, async (message) => {
    sms.push(smsMessageSchema.parse(message.data));
  });
}, 60_000);
afterAll(async () => {
  await smsConsumer?.stop();
  await bench?.stop();
});

describe('rental started and ended', () => {
  it('defaults: the start is pushed without an SMS, the bill is pushed and texted once', async () => {
    const [member] = await membersWithPhones(1, { locale: 'en' });
    const pushed: string[] = [];
    const unsubscribe = bench.bus.subscribe(SUBJECTS.pushMember(member!.id), (data) => pushed.push((data as PushNotification).kind));
    await bench.bus.flush();
    const { car, rental, bill } = await rentAndReturn(member!);
    await eventually(async () => expect(await notices(member!.id, 'rental.ended')).toHaveLength(1));
    await eventually(() => expect(smsTo(member!.id, 'rental-ended')).toHaveLength(1));
    await quiet();
    expect(await notices(member!.id, 'rental.started')).toEqual([
      { kind: 'rental.started', title: `Rental of ${car.plate} started`, body: { plate: car.plate, station: 'Home', rentalId: rental.id } },
    ]);
    expect(await notices(member!.id, 'rental.ended')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ rentalId: rental.id, totalFen: bill.totalFen }) }),
    ]);
    // Live on the push channel too, once each.
    expect(pushed.filter((kind) => kind.startsWith('rental.'))).toEqual(['rental.started', 'rental.ended']);
    unsubscribe();
    expect(smsTo(member!.id, 'rental-started')).toEqual([]);
    expect(smsTo(member!.id, 'rental-ended')).toEqual([
      expect.objectContaining({
        reference: `rental-ended:${rental.id}`,
        phone: member!.phone,
        locale: 'en',
        params: { plate: car.plate, feeFen: bill.totalFen },
      }),
    ]);
    // The SMS service sent it (the development outbox).
    await eventually(async () =>
      expect((await bench.db.query('SELECT status FROM sms_log WHERE reference = $1', [`rental-ended:${rental.id}`])).rows).toEqual([{ status: 'sent' }]),
    );
  });

  it('a member who asked for it gets the rental-started SMS; one who turned everything off still gets the bill', async () => {
    const [keen, quietOne] = await membersWithPhones(2);
    const allOff = { 'rental-started': false, 'reservation-expiring': false, 'low-balance': false, 'low-battery': false };
    expect((await bench.api('PUT', '/api/v1/me/sms-preferences', keen!.key, { ...allOff, 'rental-started': true })).status).toBe(200);
    expect((await bench.api('PUT', '/api/v1/me/sms-preferences', quietOne!.key, allOff)).status).toBe(200);
    const keenTrip = await rentAndReturn(keen!);
    const quietTrip = await rentAndReturn(quietOne!);
    await eventually(() => expect(smsTo(quietOne!.id, 'rental-ended')).toHaveLength(1));
    await eventually(() => expect(smsTo(keen!.id, 'rental-started')).toHaveLength(1));
    await quiet();
    expect(smsTo(keen!.id, 'rental-started')).toEqual([
      expect.objectContaining({ reference: `rental-started:${keenTrip.rental.id}`, params: { plate: keenTrip.car.plate, station: 'Home' } }),
    ]);
    expect(smsTo(keen!.id, 'rental-ended')).toHaveLength(1);
    expect(smsTo(quietOne!.id, 'rental-started')).toEqual([]);
    expect(smsTo(quietOne!.id, 'rental-ended')).toEqual([expect.objectContaining({ params: { plate: quietTrip.car.plate, feeFen: quietTrip.bill.totalFen } })]);
    // Pushed either way: the choice is only about text messages.
    expect(await notices(quietOne!.id, 'rental.started')).toHaveLength(1);
  });
});

describe('reservation about to expire', () => {
  it('is told once by the racing sweeps of three APP instances, and not at all to a member who turned it off', async () => {
    const [member, optedOut] = await membersWithPhones(2);
    await bench.api('PUT', '/api/v1/me/sms-preferences', optedOut!.key, {
      'rental-started': false,
      'reservation-expiring': false,
      'low-balance': true,
      'low-battery': true,
    });
    const car = await bench.createVehicle(home.id);
    const other = await bench.createVehicle(home.id);
    const reservation = (await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).json<{ id: string }>();
    const optedOutReservation = (await bench.api('POST', '/api/v1/reservations', optedOut!.key, { vehicleId: other.id })).json<{ id: string }>();
    await eventually(() => expect(smsTo(member!.id, 'reservation-expiring')).toHaveLength(1));
    await eventually(async () => expect(await notices(optedOut!.id, 'reservation.expiring')).toHaveLength(1));
    await quiet();
    expect(smsTo(member!.id, 'reservation-expiring')).toEqual([
      expect.objectContaining({ reference: `reservation-expiring:${reservation.id}`, params: { plate: car.plate, minutes: 3 } }),
    ]);
    expect(await notices(member!.id, 'reservation.expiring')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ reservationId: reservation.id, plate: car.plate }) }),
    ]);
    expect(smsTo(optedOut!.id, 'reservation-expiring')).toEqual([]);
    expect(await notices(optedOut!.id, 'reservation.expiring')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ reservationId: optedOutReservation.id }) }),
    ]);
  });

  it('two workers racing on their own connections tell each reservation once', async () => {
    const members = await membersWithPhones(6);
    // The platform's sweeps take part too; the workers below run over and over at the same time.
    const pools = [0, 1].map(() => new pg.Pool({ connectionString: bench.platform.env.DATABASE_URL, max: 2 }));
    const buses: Bus[] = await Promise.all([0, 1].map(() => createNatsBus({ url: TEST_NATS_URL, prefix: bench.platform.env.NATS_SUBJECT_PREFIX })));
    const log = createLogger('notices-test', 'warn');
    const workers = pools.map((db, i) => createRentalNotices({ db, bus: buses[i]!, cache: createMemoryStore(), log }));
    try {
      const racing: Promise<number[]> = Promise.all(
        workers.map(async (w) => {
          let told = 0;
          for (let round = 0; round < 40; round++) told += await w.reservationsExpiring(5);
          return told;
        }),
      );
      const reservations = await Promise.all(
        members.map(async (m) => {
          const car = await bench.createVehicle(home.id);
          return (await bench.api('POST', '/api/v1/reservations', m.key, { vehicleId: car.id })).json<{ id: string }>();
        }),
      );
      // Each reservation is claimed by one party at most (the platform's sweeps claim some).
      const told = await racing;
      expect(told[0]! + told[1]!).toBeLessThanOrEqual(members.length);
      for (const [i, m] of members.entries()) {
        await eventually(() => expect(smsTo(m.id, 'reservation-expiring')).toHaveLength(1));
        expect(smsTo(m.id, 'reservation-expiring')[0]!.reference).toBe(`reservation-expiring:${reservations[i]!.id}`);
      }
      await quiet();
      for (const m of members) {
        expect(smsTo(m.id, 'reservation-expiring')).toHaveLength(1);
        expect(await notices(m.id, 'reservation.expiring')).toHaveLength(1);
      }
    } finally {
      for (const bus of buses) await bus.close();
      for (const pool of pools) await pool.end();
    }
  });
});

describe('low balance', () => {
  const charge = (memberId: string, reference: string, amountFen: number, kind: DeductionMessage['kind'] = 'manual') =>
    bench.bus.publishDurable(
      deductionSubject(kind),
      { reference, memberId, kind, amountFen, description: 'test', requestedBy: 'notices-test', at: new Date().toISOString() } satisfies DeductionMessage,
      reference,
    );
  const balance = async (memberId: string) =>
    Number((await bench.db.query<{ b: string }>('SELECT wallet_balance_fen AS b FROM members WHERE id = $1', [memberId])).rows[0]!.b);

  it('is told once per crossing of the threshold, not at every deduction below it', async () => {
    const [member] = await membersWithPhones(1, { balanceFen: 2_500 });
    const id = member!.id;
    const ref = (n: number) => `notices-test:${id}:${n}`;
    await charge(id, ref(1), 1_000); // 2 500 → 1 500: crossing
    await charge(id, ref(2), 200); // 1 300: still below
    await charge(id, ref(1), 1_000); // a redelivery of the first
    await eventually(async () => expect(await balance(id)).toBe(1_300));
    await eventually(() => expect(smsTo(id, 'low-balance')).toHaveLength(1));
    await quiet();
    expect(smsTo(id, 'low-balance')).toEqual([expect.objectContaining({ reference: `low-balance:${ref(1)}`, params: { balanceFen: 1_500 } })]);
    expect((await notices(id, 'balance.low')).map((n) => n.body.balanceFen)).toEqual([1_500]);

    await charge(id, ref(3), 2_000, 'refund'); // 3 300: back above
    await charge(id, ref(4), 1_500); // 1 800: the second crossing
    await eventually(() => expect(smsTo(id, 'low-balance')).toHaveLength(2));
    await quiet();
    expect(smsTo(id, 'low-balance').map((m) => m.params.balanceFen)).toEqual([1_500, 1_800]);
    expect(await notices(id, 'balance.low')).toHaveLength(2);
  });
});

describe('walk-up rentals the car reports', () => {
  it('the start is told when the car reports the unlock, the bill when its trip record ends the rental', async () => {
    const [member] = await membersWithPhones(1);
    await bench.api('PUT', '/api/v1/me/sms-preferences', member!.key, {
      'rental-started': true,
      'reservation-expiring': false,
      'low-balance': true,
      'low-battery': true,
    });
    const car = await bench.createVehicle(home.id, { odometerM: 5_000_000 });
    // Holding the car entitles the member to open it at the car.
    expect((await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).status).toBe(201);
    const tripId = randomUUID();
    const startedAt = new Date().toISOString();
    const deps = { db: bench.db, bus: bench.bus, cache: createMemoryStore() };
    expect(await recordWalkUp(deps, car.vin, { memberId: member!.id, tripId, at: startedAt })).toBe('started');
    // What the telematics service does after a started walk-up (twice: a repeated report).
    await noticeWalkUpStarted(deps, tripId);
    await noticeWalkUpStarted(deps, tripId);
    const { rows } = await bench.db.query<{ id: string }>('SELECT id FROM rentals WHERE unlock_command_id = $1', [tripId]);
    const rentalId = rows[0]!.id;
    await eventually(() => expect(smsTo(member!.id, 'rental-started')).toHaveLength(1));
    expect(smsTo(member!.id, 'rental-started')[0]).toMatchObject({ reference: `rental-started:${rentalId}`, params: { plate: car.plate, station: 'Home' } });

    // A short, slow trip (the trip bounds hold a physically impossible one for review).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const trip = {
      tripId,
      memberId: member!.id,
      startedAt,
      endedAt: new Date().toISOString(),
      startOdometerM: 5_000_000,
      endOdometerM: 5_000_010,
      startSocPct: 80,
      endSocPct: 75,
      startLat: home.lat,
      startLng: home.lng,
      endLat: home.lat,
      endLng: home.lng,
      offline: false,
    };
    const log = createLogger('notices-test', 'warn');
    expect(await recordTrip({ ...deps, log, requestedBy: 'notices-test' }, car.vin, trip)).toBe('billed');
    expect(await recordTrip({ ...deps, log, requestedBy: 'notices-test' }, car.vin, trip)).toBe('duplicate');
    const { rows: ended } = await bench.db.query<{ totalFen: string }>('SELECT total_fen AS "totalFen" FROM rentals WHERE id = $1', [rentalId]);
    await eventually(() => expect(smsTo(member!.id, 'rental-ended')).toHaveLength(1));
    await quiet();
    expect(smsTo(member!.id, 'rental-ended')).toEqual([
      expect.objectContaining({ reference: `rental-ended:${rentalId}`, params: { plate: car.plate, feeFen: Number(ended[0]!.totalFen) } }),
    ]);
    expect(await notices(member!.id, 'rental.started')).toHaveLength(1);
    expect(await notices(member!.id, 'rental.ended')).toHaveLength(1);
  });
});

describe('low battery during a trip', () => {
  it('is told once per rental, with the nearest stations that have a free space and a free charger', async () => {
    const [member] = await membersWithPhones(1, { locale: 'en' });
    // Around a point of their own, far from the other tests' stations.
    const at = { lat: 30.5, lng: 120.1 };
    const near = await bench.createStation({ name: 'Near, room and charger', lat: 30.501, lng: 120.1, capacity: 5 });
    const full = await bench.createStation({ name: 'Nearer but full', lat: 30.5005, lng: 120.1, capacity: 1 });
    const busy = await bench.createStation({ name: 'Near, chargers busy', lat: 30.502, lng: 120.1, capacity: 5 });
    const far = await bench.createStation({ name: 'Farther, room and charger', lat: 30.52, lng: 120.1, capacity: 5 });
    await bench.createVehicle(full.id);
    const pile = (id: string, stationId: string, state: string) =>
      bench.db.query(`INSERT INTO piles (id, station_id, password_hash, state) VALUES ($1, $2, 'x', $3)`, [id, stationId, state]);
    const tag = Date.now().toString(36);
    await pile(`N-${tag}`, near.id, 'available');
    await pile(`F-${tag}`, full.id, 'available');
    await pile(`B-${tag}`, busy.id, 'charging');
    await pile(`X-${tag}`, far.id, 'available');
    const car = await bench.createVehicle(near.id);
    const rental = (await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id })).json<{ id: string }>();
    await bench.reportVehicle(car.id, { ...at, socPct: 12 });

    // Two telematics instances hear reports of the car, several times each.
    const settings = { thresholdPct: 20, stations: 2 };
    const report = [{ vin: car.vin, state: 'in_use', socPct: 12 }];
    const told = await Promise.all([0, 1, 2, 3].map(() => noticeLowBattery({ db: bench.db, bus: bench.bus, cache: createMemoryStore() }, report, settings)));
    expect(told.reduce((a, b) => a + b, 0)).toBe(1);
    await eventually(() => expect(smsTo(member!.id, 'low-battery')).toHaveLength(1));
    await quiet();
    const [message] = smsTo(member!.id, 'low-battery');
    expect(message).toMatchObject({ reference: `low-battery:${rental.id}`, params: { plate: car.plate, socPct: 12 } });
    expect(message!.params.stations).toMatch(/^Near, room and charger 0\.1 km, Farther, room and charger 2\.2 km$/);
    const [stored] = await notices(member!.id, 'battery.low');
    expect((stored!.body.stations as Array<{ id: string }>).map((s) => s.id)).toEqual([near.id, far.id]);

    // Above the threshold, or a car not in use: nothing.
    expect(await noticeLowBattery({ db: bench.db, bus: bench.bus }, [{ vin: car.vin, state: 'in_use', socPct: 40 }], settings)).toBe(0);
    expect(await noticeLowBattery({ db: bench.db, bus: bench.bus }, [{ vin: car.vin, state: 'available', socPct: 5 }], settings)).toBe(0);

    // The next rental of the same car (charged meanwhile: below the fleet's minimum charge it
    // could not be rented) is a new trip: told again when its battery runs low.
    await bench.reportVehicle(car.id, { lat: near.lat, lng: near.lng, socPct: 60 });
    expect((await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member!.key, { stationId: near.id })).status).toBe(200);
    const again = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(again.status).toBe(201);
    const next = again.json<{ id: string }>();
    expect(await noticeLowBattery({ db: bench.db, bus: bench.bus }, report, settings)).toBe(1);
    await eventually(() => expect(smsTo(member!.id, 'low-battery').map((m) => m.reference)).toEqual([`low-battery:${rental.id}`, `low-battery:${next.id}`]));
  });
});

describe('SMS preferences endpoint', () => {
  it('shows the defaults, the SMS that always go, and stores a full choice', async () => {
    const [member] = await bench.createMembers(1);
    expect((await bench.api('GET', '/api/v1/me/sms-preferences', member!.key)).json()).toEqual({
      choices: { 'rental-started': false, 'reservation-expiring': true, 'low-balance': true, 'low-battery': true },
      alwaysSent: ['rental-ended', 'debt'],
    });
    const choices = { 'rental-started': true, 'reservation-expiring': false, 'low-balance': true, 'low-battery': false };
    const put = await bench.api('PUT', '/api/v1/me/sms-preferences', member!.key, choices);
    expect(put.status).toBe(200);
    expect(put.json()).toEqual({ choices, alwaysSent: ['rental-ended', 'debt'] });
    expect((await bench.api('GET', '/api/v1/me/sms-preferences', member!.key)).json()).toMatchObject({ choices });
    expectProblem(await bench.api('GET', '/api/v1/me/sms-preferences', undefined), 401);
  });

  it(
    'bad input is a 400 naming the field and changes nothing (property)',
    async () => {
      const [member] = await bench.createMembers(1);
      const stored = { 'rental-started': true, 'reservation-expiring': false, 'low-balance': false, 'low-battery': true };
      expect((await bench.api('PUT', '/api/v1/me/sms-preferences', member!.key, stored)).status).toBe(200);
      const kinds = Object.keys(stored) as Array<keyof typeof stored>;
      const notBoolean = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
      const badBody = fc.oneof(
        // One choice not a boolean: that field is named.
        fc.tuple(fc.constantFrom(...kinds), notBoolean).map(([kind, value]) => ({ body: { ...stored, [kind]: value }, field: `body.${kind}`, mentions: kind })),
        // One choice missing.
        fc.constantFrom(...kinds).map((kind) => {
          const body: Record<string, unknown> = { ...stored };
          delete body[kind];
          return { body, field: `body.${kind}`, mentions: kind };
        }),
        // A required SMS cannot be turned off, nor anything unknown added.
        fc
          .tuple(fc.constantFrom('rental-ended', 'debt', 'marketing', '__proto__x'), fc.boolean())
          // An unknown key is the body's fault; the reason names the key.
          .map(([extra, value]) => ({ body: { ...stored, [extra]: value }, field: 'body', mentions: extra })),
      );
      await checkProperty('sms preferences bad input', 60, badBody, async ({ body, field, mentions }) => {
        const reply = await bench.api('PUT', '/api/v1/me/sms-preferences', member!.key, body);
        expectProblem(reply, 400, 'validation', field);
        expect(reply.json<{ detail: string }>().detail).toContain(mentions);
        const now = (await bench.api('GET', '/api/v1/me/sms-preferences', member!.key)).json<{ choices: unknown }>().choices;
        return JSON.stringify(now) === JSON.stringify(stored);
      });
      // Not an object at all, or not JSON.
      for (const body of [[], true, 'off', null]) expectProblem(await bench.api('PUT', '/api/v1/me/sms-preferences', member!.key, body), 400);
      const broken = await request(`${bench.gateway}/api/v1/me/sms-preferences`, {
        method: 'PUT',
        headers: { ...bearer(member!.key), 'content-type': 'application/json' },
        rawBody: '{"rental-started":',
      });
      expectProblem(broken, 400, 'malformed-json');
      expect((await bench.api('GET', '/api/v1/me/sms-preferences', member!.key)).json()).toMatchObject({ choices: stored });
    },
    fuzzTimeout(60_000),
  );
});
