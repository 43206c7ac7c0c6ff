import fc from 'fast-check';
import { checkProperty } from '../support/fuzz';
import { expectProblem, startRentalBench, type RentalBench } from './support';

// A short wait for the car keeps this file fast.
const FAST = { UNLOCK_ACK_TIMEOUT_MS: '1500', UNLOCK_RESEND_MS: '400', RENTAL_SWEEP_INTERVAL_MS: '200' };

/**
 * The renting member's car control (unlock, lock, locate over the vehicle link) and the return as
 * the end-of-trip flow: a stale report is refreshed by asking the car, closed doors are locked by
 * the platform, and every refusal names what to do. The bench answers the commands as the vehicle
 * link and the car would (test/rental/support.ts); test/web drives the real link and simulator.
 */
describe('car control and the end of the trip', () => {
  let bench: RentalBench;
  let station: { id: string; lat: number; lng: number };

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 2, env: FAST });
    await bench.createPlan();
    station = await bench.createStation({ name: 'End of trip', lat: 31.22, lng: 121.46 });
  });
  afterAll(() => bench?.stop());

  const rent = async () => {
    const car = await bench.createVehicle(station.id);
    const [member] = await bench.createMembers(1);
    const reply = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(reply.status).toBe(201);
    const rental = reply.json<{ id: string }>();
    // Parked back at the station, as the car reports it.
    await bench.reportVehicle(car.id, { lat: station.lat, lng: station.lng, doorsLocked: true, doorsOpen: false, ignition: false });
    return { car, member: member!, rental };
  };
  const commandsTo = (vin: string, action: string) => bench.commands.filter((c) => c.vin === vin && c.action === action);
  const status = async (rentalId: string, key: string) => (await bench.api('GET', `/api/v1/rentals/${rentalId}`, key)).json<{ status: string }>().status;

  it('the renting member unlocks, locks and locates the car; each answer is the car’s acknowledgement', async () => {
    const { car, member, rental } = await rent();
    for (const action of ['lock', 'unlock', 'locate'] as const) {
      const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, { action });
      expect(reply.status).toBe(200);
      const body = reply.json<{ commandId: string; rentalId: string; action: string; ok: boolean }>();
      expect(body).toMatchObject({ rentalId: rental.id, action, ok: true });
      expect(commandsTo(car.vin, action).map((c) => c.commandId)).toContain(body.commandId);
    }
  });

  it("another member's rental is 404, an ended one 409 rental-not-active, and no command goes out", async () => {
    const { car, member, rental } = await rent();
    const [other] = await bench.createMembers(1);
    const sent = bench.commands.length;
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, other!.key, { action: 'unlock' }), 404, 'not-found');
    expectProblem(await bench.api('POST', '/api/v1/rentals/00000000-0000-4000-8000-000000000000/commands', member.key, { action: 'unlock' }), 404, 'not-found');
    expect((await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, undefined, { action: 'unlock' })).status).toBe(401);
    expect(bench.commands.slice(sent).filter((c) => c.vin === car.vin)).toEqual([]);
    expect((await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id })).status).toBe(200);
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, { action: 'unlock' }), 409, 'rental-not-active');
  });

  it('a car that refuses or does not answer: vehicle-refused, vehicle-timeout, a second command meanwhile vehicle-busy, and nothing changes', async () => {
    const { car, member, rental } = await rent();
    bench.carBehaviour.set(car.vin, 'refuse');
    const refused = await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, { action: 'unlock' });
    expectProblem(refused, 409, 'vehicle-refused');
    expect(refused.json<{ detail: string }>().detail).toMatch(/door actuator fault/);
    bench.carBehaviour.set(car.vin, 'silent');
    // Two at once: the second is busy while the first waits for the car, which never answers.
    const first = bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, { action: 'locate' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, { action: 'lock' }), 409, 'vehicle-busy');
    expectProblem(await first, 504, 'vehicle-timeout');
    expect(commandsTo(car.vin, 'lock')).toEqual([]);
    expect(await status(rental.id, member.key)).toBe('active');
  });

  it('bad input names the field and sends nothing', async () => {
    const { car, member, rental } = await rent();
    const sent = bench.commands.length;
    const path = `/api/v1/rentals/${rental.id}/commands`;
    expectProblem(await bench.api('POST', path, member.key, { action: 'explode' }), 400, 'validation', 'body.action');
    expectProblem(await bench.api('POST', path, member.key, { action: 'immobilise' }), 400, 'validation', 'body.action');
    expectProblem(await bench.api('POST', path, member.key, {}), 400, 'validation', 'body.action');
    expectProblem(await bench.api('POST', path, member.key, { action: 'lock', vin: car.vin }), 400, 'validation');
    expectProblem(await bench.api('POST', '/api/v1/rentals/not-a-uuid/commands', member.key, { action: 'lock' }), 400, 'validation', 'path.id');
    expect(bench.commands.slice(sent).filter((c) => c.vin === car.vin)).toEqual([]);
  });

  it('generated bodies other than a known action are 400 problems naming body fields, and send nothing', async () => {
    const { car, member, rental } = await rent();
    const sent = bench.commands.length;
    const body = fc.oneof(
      fc.record({ action: fc.string({ maxLength: 20 }).filter((a) => !['unlock', 'lock', 'locate'].includes(a)) }),
      fc.record({ action: fc.constantFrom('unlock', 'lock', 'locate'), extra: fc.jsonValue() }),
      fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      fc.dictionary(
        fc.string({ maxLength: 8 }).filter((k) => k !== 'action'),
        fc.jsonValue(),
        { maxKeys: 3 },
      ),
    );
    await checkProperty('member car command bodies', 200, body, async (value) => {
      const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/commands`, member.key, value);
      if (reply.status !== 400 || !/problem\+json/.test(String(reply.headers['content-type']))) return false;
      const problem = reply.json<{ type: string; 'invalid-params'?: Array<{ name: string }> }>();
      // JSON that is not an object is refused by the parser (strict JSON bodies) before validation.
      if (problem.type === 'urn:evshare:problem:malformed-json') return typeof value !== 'object' || value === null || Array.isArray(value);
      const names = (problem['invalid-params'] ?? []).map((p) => p.name);
      return problem.type === 'urn:evshare:problem:validation' && names.length > 0 && names.every((n) => n.startsWith('body'));
    });
    expect(bench.commands.slice(sent).filter((c) => c.vin === car.vin)).toEqual([]);
  }, 60_000);

  it('closed but unlocked doors: the return locks the car, waits for its acknowledgement, then ends and bills', async () => {
    const { car, member, rental } = await rent();
    await bench.reportVehicle(car.id, { doorsLocked: false, doorsOpen: false });
    const quote = (await bench.api('GET', `/api/v1/rentals/${rental.id}/quote?stationId=${station.id}`, member.key)).json<{ canReturn: boolean }>();
    expect(quote.canReturn).toBe(true);
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ status: 'ended', totalFen: expect.any(Number) });
    expect(commandsTo(car.vin, 'lock')).toHaveLength(1);
  });

  it('a car that will not lock: the rental goes on with the reason (vehicle-refused), nothing billed', async () => {
    const { car, member, rental } = await rent();
    await bench.reportVehicle(car.id, { doorsLocked: false, doorsOpen: false });
    bench.carBehaviour.set(car.vin, 'refuse');
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id });
    expectProblem(reply, 409, 'vehicle-refused');
    expect(reply.json<{ detail: string }>().detail).toMatch(/not locked and the rental goes on/);
    expect(await status(rental.id, member.key)).toBe('active');
  });

  it('doors open or the ignition on: refused with what to do, and the car is not locked', async () => {
    const { car, member, rental } = await rent();
    await bench.reportVehicle(car.id, { doorsLocked: false, doorsOpen: true, ignition: true });
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id });
    expectProblem(reply, 409, 'doors-open');
    expect(reply.json<{ refusals: Array<{ reason: string }> }>().refusals.map((r) => r.reason)).toEqual(['doors-open', 'ignition-on']);
    expect(commandsTo(car.vin, 'lock')).toEqual([]);
    await bench.reportVehicle(car.id, { doorsOpen: false, ignition: true });
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id }), 409, 'ignition-on');
    expect(commandsTo(car.vin, 'lock')).toEqual([]);
  });

  it('outside the station area: refused before anything is locked', async () => {
    const { car, member, rental } = await rent();
    await bench.reportVehicle(car.id, { lat: station.lat + 0.01, doorsLocked: false });
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id }), 409, 'outside-geofence');
    expect(commandsTo(car.vin, 'lock')).toEqual([]);
  });

  it('an old report is refreshed by asking the car; a car that does not answer: vehicle-not-reporting', async () => {
    const { car, member, rental } = await rent();
    await bench.reportVehicle(car.id, { reportedAt: new Date(Date.now() - 10 * 60_000) });
    bench.carBehaviour.set(car.vin, 'silent');
    const stale = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id });
    expectProblem(stale, 409, 'vehicle-not-reporting');
    expect(stale.json<{ detail: string }>().detail).toMatch(/has not reported recently/);
    expect(await status(rental.id, member.key)).toBe('active');
    bench.carBehaviour.set(car.vin, 'ack');
    expect((await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: station.id })).status).toBe(200);
    expect(commandsTo(car.vin, 'report').length).toBeGreaterThanOrEqual(2);
  });
});
