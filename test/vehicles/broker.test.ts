import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { vehicleTopic } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { eventually } from '../support/http';
import { connackCode, connectPacket, publishPacket, rawClient, remainingLength } from '../support/mqtt';
import { startCarsAndTelematics } from './fixture';

/**
 * Attacks on the embedded broker by anonymous clients and by a hostile car terminal (issue 11,
 * item 6), each against the real telematics service with canary cars that must not notice.
 */
describe('embedded broker under attack', () => {
  let setup: Awaited<ReturnType<typeof startCarsAndTelematics>>;
  let fleet: Fleet;
  let port: number;
  let carA: string;
  let carB: string;
  let attacker: string;

  beforeAll(async () => {
    setup = await startCarsAndTelematics('LBRKR', 3);
    [carA, carB, attacker] = setup.vins as [string, string, string];
    port = Number(new URL(setup.tm.service.mqttUrl).port);
    fleet = await startVehicleFleet({
      brokerUrl: setup.tm.service.mqttUrl,
      credentials: setup.credentials.slice(0, 2),
      seed: 5,
      topicRoot: setup.tm.topicRoot,
      telemetryParkedMs: 200,
    });
    await eventually(() => expect([carA, carB].every((vin) => setup.tm.service.isOnline(vin))).toBe(true));
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await setup?.stop();
  });

  const refused = (reason: string) => setup.tm.metric('telematics_mqtt_refused_total', { reason });
  const canariesFine = async () => {
    expect(fleet.cars.every((car) => car.connected)).toBe(true);
    expect([carA, carB].every((vin) => setup.tm.service.isOnline(vin))).toBe(true);
    const car = fleet.car(carA);
    car.driveDistance(100 + Math.floor(Math.random() * 1000));
    car.sendTelemetry();
    await eventually(async () => {
      const { rows } = await setup.db.query<{ odometerM: number }>('SELECT odometer_m AS "odometerM" FROM vehicles WHERE vin = $1', [carA]);
      expect(rows[0]!.odometerM).toBe(car.physics.odometerM);
    });
  };

  it('200 MiB CONNECT announced before auth: closed from its header, nothing of it buffered, counted', async () => {
    const before = await refused('oversize');
    const rss = process.memoryUsage().rss;
    const client = await rawClient(port);
    // The header announces 200 MiB; then the client streams what it can (up to 32 MiB).
    await client.write(Buffer.from([0x10, ...remainingLength(200 * 1024 * 1024)]));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let sent = 0; sent < 32 * 1024 * 1024 && (await client.write(chunk)); sent += chunk.length);
    await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), 5_000))]);
    expect(await refused('oversize')).toBe(before + 1);
    expect(process.memoryUsage().rss - rss).toBeLessThan(48 * 1024 * 1024);
    await canariesFine();
  });

  it("an authenticated car's oversized packet closes only its own connection", async () => {
    const before = await refused('oversize');
    const client = await rawClient(port);
    await client.write(connectPacket({ clientId: attacker, username: attacker, password: setup.secret(attacker) }));
    await client.until((r) => connackCode(r) !== undefined, 5_000);
    expect(connackCode(client.received())).toBe(0);
    void client.write(publishPacket(vehicleTopic(setup.tm.topicRoot, attacker, 'telemetry'), Buffer.alloc(70_000, 0x20)));
    await client.closed;
    expect(await refused('oversize')).toBe(before + 1);
    await canariesFine();
  });

  it("client-id takeover: no car can connect with another car's client id, nor push that car offline", async () => {
    const before = await refused('client-id');
    // The attacker's own valid credential with car A's client id; then no credential; then a wrong one.
    for (const attempt of [
      { clientId: carA, username: attacker, password: setup.secret(attacker) },
      { clientId: carA },
      { clientId: carA, username: carA, password: 'guessed' },
      { clientId: '', username: attacker, password: setup.secret(attacker) },
    ]) {
      const client = await rawClient(port);
      await client.write(connectPacket(attempt));
      await client.until((r) => connackCode(r) !== undefined, 5_000);
      expect(connackCode(client.received())).toBeGreaterThan(0);
      await client.closed;
    }
    expect(await refused('client-id')).toBe(before + 2);
    await canariesFine();
    // A status message from the takeover attempt would have said offline.
    const { rows } = await setup.db.query<{ online: boolean }>('SELECT online FROM vehicles WHERE vin = $1', [carA]);
    expect(rows[0]!.online).toBe(true);
  });

  it("cross-car topics: a car publishing to another's topics is cut off, subscribing to them or to wildcards is refused", async () => {
    const options = { clientId: attacker, username: attacker, password: setup.secret(attacker), reconnectPeriod: 0 };
    const intruder = await mqtt.connectAsync(setup.tm.service.mqttUrl, options);
    for (const topic of [vehicleTopic(setup.tm.topicRoot, carA, 'commands'), `${setup.tm.topicRoot}/vehicles/+/commands`, '#']) {
      await expect(intruder.subscribeAsync(topic, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    }
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(vehicleTopic(setup.tm.topicRoot, carA, 'status'), JSON.stringify({ online: false }), { qos: 1, retain: true });
    await closed;
    intruder.end(true);
    expect(await refused('publish')).toBeGreaterThanOrEqual(1);
    expect(await refused('subscribe')).toBeGreaterThanOrEqual(3);
    await canariesFine();
  });

  it("TLS on the cars' port: certificate from files; cars connect with mqtts and the CA; plain TCP and untrusted clients are refused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mqtt-tls-'));
    try {
      const cert = path.join(dir, 'server.crt');
      const key = path.join(dir, 'server.key');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'ignore' },
      );
      const secure = await startCarsAndTelematics('LTLSX', 1, { MQTT_TLS_CERT: cert, MQTT_TLS_KEY: key });
      try {
        const url = secure.tm.service.mqttUrl;
        expect(url).toMatch(/^mqtts:\/\//);
        const cars = await startVehicleFleet({
          brokerUrl: url,
          ca: readFileSync(cert),
          credentials: secure.credentials,
          seed: 1,
          topicRoot: secure.tm.topicRoot,
          telemetryParkedMs: 200,
        });
        try {
          await eventually(() => expect(secure.tm.service.isOnline(secure.vins[0]!)).toBe(true));
          const [vin] = secure.vins as [string];
          const plain = mqtt.connect(url.replace('mqtts', 'mqtt'), {
            clientId: vin,
            username: vin,
            password: secure.secret(vin),
            reconnectPeriod: 0,
            connectTimeout: 3_000,
          });
          await new Promise<void>((resolve) => plain.once('close', () => resolve()));
          expect(plain.connected).toBe(false);
          plain.end(true);
          const untrusted = mqtt.connect(url, { clientId: vin, username: vin, password: secure.secret(vin), reconnectPeriod: 0 });
          await expect(new Promise((resolve, reject) => untrusted.once('connect', resolve).once('error', reject))).rejects.toThrow(/self-signed|self signed/);
          untrusted.end(true);
          expect(cars.car(vin).connected).toBe(true);
        } finally {
          await cars.stop();
        }
      } finally {
        await secure.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
