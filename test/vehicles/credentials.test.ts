import mqtt from 'mqtt';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { eventually } from '../support/http';
import { startRentalBench, type RentalBench } from '../rental/support';
import { startTestTelematics } from './support';

/**
 * Car terminals onboarded through the API only (issue 12): an operator adds the car and issues
 * its credential, the simulated car connects with the secret shown once, rotation locks the old
 * secret out at the next connection.
 */
describe('vehicle terminal credentials through the operator API', () => {
  let bench: RentalBench;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1 });
    tm = await startTestTelematics(bench.platform.env);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    await tm?.stop();
    await bench?.stop();
  });

  const connects = (vin: string, password: string) =>
    new Promise<boolean>((resolve) => {
      const client = mqtt.connect(tm.service.mqttUrl, { username: vin, password, clientId: vin, reconnectPeriod: 0 });
      client.once('connect', () => {
        client.end(true);
        resolve(true);
      });
      client.once('error', () => {
        client.end(true);
        resolve(false);
      });
    });

  it('issues a credential the simulated car connects with; rotation refuses the old secret', async () => {
    const station = await bench.createStation();
    const car = await bench.createVehicle(station.id);
    const path = `/api/v1/admin/vehicles/${car.id}/credential`;
    expect((await bench.admin('GET', path)).json()).toEqual({ vehicleId: car.id, vin: car.vin, issuedAt: null });
    const issued = await bench.admin('POST', path);
    expect(issued.status).toBe(201);
    const { secret } = issued.json<{ secret: string }>();
    expect(issued.json()).toEqual({ vehicleId: car.id, vin: car.vin, secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const status = (await bench.admin('GET', path)).json<{ issuedAt: string }>();
    expect(Date.parse(status.issuedAt)).not.toBeNaN();
    expect(JSON.stringify(status)).not.toContain(secret);

    fleet = await startVehicleFleet({
      brokerUrl: tm.service.mqttUrl,
      credentials: [{ vin: car.vin, secret }],
      seed: 3,
      topicRoot: tm.topicRoot,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 100,
    });
    await eventually(() => expect(tm.service.isOnline(car.vin)).toBe(true));
    // Its telemetry reaches the car the APP shows.
    await eventually(async () =>
      expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ reportedAt: expect.any(String) }),
    );
    await fleet.stop();
    fleet = undefined;

    const rotated = (await bench.admin('POST', path)).json<{ secret: string }>().secret;
    expect(rotated).not.toBe(secret);
    expect(await connects(car.vin, secret)).toBe(false);
    expect(await connects(car.vin, rotated)).toBe(true);
  });

  it('refuses members, malformed and unknown cars with a problem+json, and issues nothing', async () => {
    const station = await bench.createStation();
    const car = await bench.createVehicle(station.id);
    const [member] = await bench.createMembers(1);
    const path = `/api/v1/admin/vehicles/${car.id}/credential`;
    expect((await bench.api('POST', path, member!.key)).status).toBe(403);
    const malformed = await bench.admin('POST', '/api/v1/admin/vehicles/not-a-uuid/credential');
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toMatchObject({ 'invalid-params': [{ name: 'path.id' }] });
    const unknown = await bench.admin('POST', '/api/v1/admin/vehicles/00000000-0000-4000-8000-000000000000/credential');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await bench.admin('GET', path)).json()).toMatchObject({ issuedAt: null });
  });
});
