import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SUBJECTS, uniqueName } from '@evshare/kit';
import { vehicleTopic, CHANNELS } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { startMosquitto } from '../support/mosquitto';
import { eventually } from '../support/http';
import { connackCode, connectPacket, frame, publishPacket, rawClient, remainingLength, subscribePacket, type RawClient } from '../support/mqtt';
import { startCarsAndTelematics } from '../vehicles/fixture';

// Each test runs one property: FUZZ_SECONDS longer in a soak (make fuzz).
jest.setTimeout(fuzzTimeout(60_000));

/**
 * The MQTT vehicle link against hostile bytes (issue 11, item 6): anonymous clients before CONNECT,
 * a car terminal in an attacker's hands after it, and client-id takeovers, against the real
 * telematics service with its embedded broker, then a shorter pass through a real Mosquitto set up
 * as docs/vehicles.md says. Whatever they send is refused (connection closed, CONNACK refusal or
 * message dropped) and, by the embedded broker, counted; the broker's memory stays bounded; the
 * canary cars stay online, get their commands and whitelist changes, and their telemetry lands.
 */
const CONNECT_TIMEOUT_MS = 1_500;
/** What a hostile car writes on other cars' topics: must never show up on a canary. */
const SENTINEL_ODOMETER = 424_242;

const MAX_PACKET_BYTES = 65_536;

describe.each(['embedded', 'mosquitto'] as const)('adversarial: MQTT vehicle link (%s broker)', (mode) => {
  const embedded = mode === 'embedded';
  /** Mosquitto is the production broker, tested in depth elsewhere: a shorter pass. */
  const runs = (n: number) => (embedded ? n : Math.ceil(n / 3));
  let setup: Awaited<ReturnType<typeof startCarsAndTelematics>>;
  let mosquitto: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let brokerUrl: string;
  /** The broker's resident memory (this process for the embedded one). */
  const brokerRss = () => (mosquitto ? mosquitto.rss() : process.memoryUsage().rss);
  let fleet: Fleet;
  let port: number;
  let canaries: [string, string];
  let attacker: string;
  const canaryOffline: string[] = [];
  let rssAtStart = 0;

  beforeAll(async () => {
    const topicRoot = `test/${uniqueName('fz')}`;
    const external = async (credentials: Array<{ vin: string; secret: string }>) => {
      const service = { username: 'telematics', password: randomBytes(16).toString('hex') };
      mosquitto = await startMosquitto({
        users: [service, ...credentials.map((c) => ({ username: c.vin, password: c.secret }))],
        topicRoot,
        serviceUser: service.username,
        maxPacketBytes: MAX_PACKET_BYTES,
      });
      return { MQTT_URL: mosquitto.url, MQTT_USERNAME: service.username, MQTT_PASSWORD: service.password };
    };
    setup = await startCarsAndTelematics(
      embedded ? 'LFUZZ' : 'LFZMM',
      3,
      { TELEMATICS_TOPIC_ROOT: topicRoot, MQTT_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) },
      embedded ? undefined : external,
    );
    const [a, b, c] = setup.vins as [string, string, string];
    canaries = [a, b];
    attacker = c;
    brokerUrl = mosquitto?.url ?? setup.tm.service.mqttUrl;
    port = Number(new URL(brokerUrl).port);
    setup.tm.bus.subscribe(SUBJECTS.vehicleStatusAll, (data) => {
      const status = data as { vin: string; online: boolean };
      if (!status.online && canaries.includes(status.vin)) canaryOffline.push(status.vin);
    });
    fleet = await startVehicleFleet({ brokerUrl, credentials: setup.credentials.slice(0, 2), seed: 13, topicRoot: setup.tm.topicRoot, telemetryParkedMs: 250 });
    await eventually(() => expect(canaries.every((vin) => setup.tm.service.isOnline(vin))).toBe(true));
    rssAtStart = brokerRss();
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await setup?.stop();
    await mosquitto?.stop();
  });

  const topic = (vin: string, channel: (typeof CHANNELS)[number]) => vehicleTopic(setup.tm.topicRoot, vin, channel);
  const counted = async () =>
    (await setup.tm.metric('telematics_mqtt_refused_total')) +
    (await setup.tm.metric('telematics_auth_failures_total')) +
    (await setup.tm.metric('telematics_messages_rejected_total'));
  const answered = (client: RawClient, ms: number) => client.until((r) => connackCode(r) !== undefined, ms);

  /** The canaries never noticed: online all along, still commanded, still listed, their telemetry stored. */
  async function canariesUnaffected(): Promise<void> {
    expect(canaryOffline).toEqual([]);
    expect(fleet.cars.every((car) => car.connected)).toBe(true);
    const { rows } = await setup.db.query<{ vin: string; odometerM: number; online: boolean }>(
      'SELECT vin, odometer_m AS "odometerM", online FROM vehicles WHERE vin = ANY($1)',
      [canaries],
    );
    for (const row of rows) {
      expect(row.online).toBe(true);
      expect(row.odometerM).not.toBe(SENTINEL_ODOMETER);
    }
    for (const car of fleet.cars) expect(car.executed.filter((c) => c.commandId.startsWith('00000000'))).toEqual([]);

    const car = fleet.car(canaries[0]);
    car.driveDistance(10 + Math.floor(Math.random() * 500));
    car.sendTelemetry();
    const acks: unknown[] = [];
    const stop = setup.tm.bus.subscribe(SUBJECTS.vehicleAck(canaries[1]), (data) => acks.push(data));
    const command = { commandId: randomUUID(), vin: canaries[1], action: 'lock', expiresAt: new Date(Date.now() + 10_000).toISOString() };
    setup.tm.bus.publish(SUBJECTS.vehicleCommand(canaries[1]), command);
    const { rows: grant } = await setup.db.query<{ memberId: string }>(
      `WITH m AS (INSERT INTO members (username, display_name, password_hash, role) VALUES ($1, 'Operator', '!', 'admin') RETURNING id)
       INSERT INTO vehicle_operator_access (vehicle_id, member_id, valid_until) SELECT v.id, m.id, now() + interval '10 minutes' FROM vehicles v, m WHERE v.vin = $2
       RETURNING member_id AS "memberId"`,
      [`op${randomUUID().slice(0, 12)}`, canaries[1]],
    );
    await eventually(async () => {
      const stored = await setup.db.query<{ odometerM: number }>('SELECT odometer_m AS "odometerM" FROM vehicles WHERE vin = $1', [canaries[0]]);
      expect(stored.rows[0]!.odometerM).toBe(car.physics.odometerM);
      expect(acks).toContainEqual({ commandId: command.commandId, ok: true });
      expect(fleet.car(canaries[1]).whitelist.entries.map((e) => e.memberId)).toContain(grant[0]!.memberId);
    }, 5_000);
    stop();
  }

  // ---- Before CONNECT: anonymous clients with generated bytes.
  const junk = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max }).map((b) => Buffer.from(b));
  const name = fc.string({ maxLength: 12 });
  const preAuth = fc.oneof(
    { arbitrary: junk(600).map((bytes) => ({ kind: 'random bytes', bytes })), weight: 3 },
    // A first packet that is not a CONNECT, with any flags.
    fc
      .record({ type: fc.integer({ min: 0, max: 15 }).filter((t) => t !== 1), flags: fc.integer({ min: 0, max: 15 }), body: junk(64) })
      .map(({ type, flags, body }) => ({ kind: 'not a CONNECT', bytes: frame((type << 4) | flags, body) })),
    // A CONNECT's fixed header with reserved flag bits set.
    fc.integer({ min: 1, max: 15 }).map((flags) => ({
      kind: 'CONNECT header flags',
      bytes: Buffer.concat([Buffer.from([0x10 | flags]), connectPacket({ clientId: attacker }).subarray(1)]),
    })),
    // A remaining length of five bytes.
    fc
      .array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 4, maxLength: 4 })
      .map((bytes) => ({ kind: '5-byte length', bytes: Buffer.from([0x10, ...bytes, 0x01]) })),
    // A length over the broker's limit (the embedded one's before authentication), then as much as the client can push (up to 2 MiB).
    fc
      .record({ length: fc.integer({ min: (embedded ? 4_096 : MAX_PACKET_BYTES) + 1, max: 268_435_455 }), sent: fc.integer({ min: 0, max: 2 * 1024 * 1024 }) })
      .map(({ length, sent }) => ({
        kind: 'huge announced length',
        bytes: Buffer.concat([Buffer.from([0x10, ...remainingLength(length)]), Buffer.alloc(sent, 0x41)]),
      })),
    // Wrong protocol names and levels, the reserved connect flag, missing or foreign client ids, bad credentials.
    fc
      .record({
        protocolName: fc.oneof(fc.constant('MQTT'), fc.constant('MQIsdp'), name),
        protocolLevel: fc.oneof(fc.constant(4), fc.integer({ min: 0, max: 255 })),
        extraFlags: fc.constantFrom(0, 1),
        clientId: fc.oneof(fc.constant(''), fc.constant('CANARY'), name),
        username: fc.option(fc.oneof(fc.constant('CANARY'), fc.constant('telematics'), name), { nil: undefined }),
        password: fc.option(name, { nil: undefined }),
        keepalive: fc.oneof(fc.constant(30), fc.integer({ min: 0, max: 65_535 })),
      })
      .map((f) => {
        const canary = canaries[0];
        const fields = {
          ...f,
          clientId: f.clientId === 'CANARY' ? canary : f.clientId,
          ...(f.username === undefined ? {} : { username: f.username === 'CANARY' ? canary : f.username }),
        };
        return { kind: 'CONNECT fields', bytes: connectPacket(fields) };
      }),
    // A CONNECT announcing more than it sends.
    fc.integer({ min: 1, max: 30 }).map((cut) => {
      const whole = connectPacket({ clientId: attacker, username: attacker, password: 'x'.repeat(40) });
      return { kind: 'truncated CONNECT', bytes: whole.subarray(0, whole.length - cut) };
    }),
  );

  it('before CONNECT: malformed, oversized and foreign packets are refused, counted, never buffered; canaries unaffected', async () => {
    const before = embedded ? await counted() : 0;
    const clients: RawClient[] = [];
    const huge: RawClient[] = [];
    const tried = await checkProperty(`mqtt (${mode}): before CONNECT`, runs(60), preAuth, async ({ kind, bytes }) => {
      const client = await rawClient(port);
      clients.push(client);
      if (kind === 'huge announced length') huge.push(client);
      await client.write(bytes);
      await answered(client, 150);
      // Never accepted: no credential of any car was given.
      expect(connackCode(client.received())).not.toBe(0);
      return true;
    });
    // A packet announced over the limit closes the connection from its header.
    await Promise.race([Promise.all(huge.map((c) => c.closed)), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    expect(huge.filter((c) => !c.isClosed()).length).toBe(0);
    if (embedded) {
      // Every connection is closed by the broker (at the latest when its CONNECT is late) and counted.
      await Promise.race([Promise.all(clients.map((c) => c.closed)), new Promise((resolve) => setTimeout(resolve, CONNECT_TIMEOUT_MS + 3_000))]);
      expect(clients.filter((c) => !c.isClosed()).length).toBe(0);
      await eventually(async () => expect((await counted()) - before).toBeGreaterThanOrEqual(tried));
    }
    clients.forEach((c) => c.destroy());
    expect(brokerRss() - rssAtStart).toBeLessThan((embedded ? 128 : 32) * 1024 * 1024);
    await canariesUnaffected();
  });

  // ---- After CONNECT: a car terminal in an attacker's hands.
  const sentinelTelemetry = JSON.stringify({
    at: new Date().toISOString(),
    lat: 0,
    lng: 0,
    speedKmh: 0,
    socPct: 1,
    odometerM: SENTINEL_ODOMETER,
    doorsOpen: true,
    locked: false,
    ignition: false,
    cableConnected: false,
  });
  const sentinelCommand = JSON.stringify({
    commandId: '00000000-0000-4000-8000-000000000001',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    action: 'unlock',
  });
  type Op = { hostile: boolean; bytes: (messageId: number) => Buffer; label: string };
  const garbagePayload = fc.oneof(
    junk(300),
    fc.json().map((j) => Buffer.from(j)),
    fc.constant(Buffer.from('{"at": 1')),
  );
  const shown = (o: Op) => Object.assign(o, { [fc.toStringMethod]: () => o.label });
  const op: fc.Arbitrary<Op> = fc
    .oneof(
      fc
        .record({ channel: fc.constantFrom(...CHANNELS), qos: fc.constantFrom(0 as const, 1 as const), canary: fc.constantFrom(0, 1) })
        .map(({ channel, qos, canary }) => ({
          hostile: true,
          label: `publish to a canary's ${channel}`,
          bytes: (id: number) =>
            publishPacket(
              topic(canaries[canary], channel),
              Buffer.from(channel === 'commands' ? sentinelCommand : channel === 'status' ? '{"online":false}' : sentinelTelemetry),
              { qos, messageId: id },
            ),
        })),
      fc.constant({
        hostile: true,
        label: 'publish to its own commands',
        bytes: (id: number) => publishPacket(topic(attacker, 'commands'), Buffer.from(sentinelCommand), { qos: 1, messageId: id }),
      }),
      fc
        .record({
          channel: fc.constantFrom('telemetry' as const, 'events' as const, 'acks' as const, 'status' as const),
          payload: garbagePayload,
          qos: fc.constantFrom(0 as const, 1 as const),
        })
        .map(({ channel, payload, qos }) => ({
          hostile: true,
          label: `garbage on its own ${channel}`,
          bytes: (id: number) => publishPacket(topic(attacker, channel), payload, { qos, messageId: id }),
        })),
      fc.constant({
        hostile: true,
        label: 'QoS 2',
        bytes: (id: number) => publishPacket(topic(attacker, 'telemetry'), Buffer.from(sentinelTelemetry), { qos: 2, messageId: id }),
      }),
      fc.constant({
        hostile: true,
        label: 'retained telemetry',
        bytes: () => publishPacket(topic(attacker, 'telemetry'), Buffer.from(sentinelTelemetry), { retain: true }),
      }),
      fc
        .oneof(
          fc.constantFrom('#', '+', '$SYS/broker/clients', 'evshare/#'),
          name.filter((t) => t.length > 0),
        )
        .map((t) => ({
          hostile: true,
          label: `publish outside the scheme (${t})`,
          bytes: () => publishPacket(t, Buffer.from(sentinelTelemetry)),
        })),
      fc
        .record({ filter: fc.constantFrom('#', '+/+/+/+/+', 'WILD', 'CANARY'), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) })
        .map(({ filter, qos }) => ({
          hostile: true,
          label: `subscribe ${filter}`,
          bytes: (id: number) =>
            subscribePacket(
              filter === 'WILD' ? `${setup.tm.topicRoot}/vehicles/+/commands` : filter === 'CANARY' ? topic(canaries[0], 'commands') : filter,
              qos,
              id,
            ),
        })),
      fc.integer({ min: 65_537, max: 100_000_000 }).map((length) => ({
        hostile: true,
        label: 'oversized packet',
        bytes: () => Buffer.concat([Buffer.from([0x30, ...remainingLength(length)]), Buffer.alloc(Math.min(length, 256 * 1024), 0x42)]),
      })),
      // Not necessarily hostile: it may be a PINGREQ, a DISCONNECT or the start of a packet still to come.
      junk(200).map((bytes) => ({ hostile: false, label: `raw bytes ${bytes.toString('hex').slice(0, 40)}`, bytes: () => bytes })),
      fc.integer({ min: 10, max: 200 }).map((n) => ({
        hostile: false,
        label: `flood of ${n} telemetry reports`,
        bytes: () =>
          Buffer.concat(
            Array.from({ length: n }, () =>
              publishPacket(topic(attacker, 'telemetry'), Buffer.from(JSON.stringify({ ...JSON.parse(sentinelTelemetry), odometerM: 5 }))),
            ),
          ),
      })),
      fc.constant({
        hostile: false,
        label: 'subscribe to its own commands (QoS 2, granted 1)',
        bytes: (id: number) => subscribePacket(topic(attacker, 'commands'), 2, id),
      }),
    )
    .map(shown);

  it('after CONNECT: a hostile car terminal is refused or dropped and counted; other cars are untouched', async () => {
    await checkProperty(`mqtt (${mode}): hostile car`, runs(40), fc.array(op, { minLength: 1, maxLength: 4 }), async (ops) => {
      const before = embedded ? await counted() : 0;
      const client = await rawClient(port);
      try {
        await client.write(connectPacket({ clientId: attacker, username: attacker, password: setup.secret(attacker) }));
        await answered(client, 5_000);
        expect(connackCode(client.received())).toBe(0);
        let id = 1;
        for (const o of ops) if (!(await client.write(o.bytes(id++)))) break;
        await client.until(() => false, 150);
        // Counted, unless raw bytes before the hostile packet began a packet that swallows it.
        const raw = ops.findIndex((o) => o.label.startsWith('raw bytes'));
        if (embedded && ops.slice(0, raw < 0 ? ops.length : raw).some((o) => o.hostile))
          await eventually(async () => expect(await counted()).toBeGreaterThan(before), 3_000);
        expect(canaryOffline).toEqual([]);
        for (const car of fleet.cars) expect(car.executed.filter((c) => c.commandId.startsWith('00000000'))).toEqual([]);
      } finally {
        client.destroy();
      }
      return true;
    });
    expect(brokerRss() - rssAtStart).toBeLessThan((embedded ? 128 : 32) * 1024 * 1024);
    await canariesUnaffected();
  });

  // ---- Client-id takeovers.
  // The embedded broker refuses a client id other than the VIN; Mosquitto (use_username_as_clientid)
  // replaces it with the username. Either way no other car's session is touched.
  it("client-id takeover: only the car's own credential connects, as itself; no canary is ever pushed off", async () => {
    const who = fc.constantFrom('canary', 'attacker', 'empty', 'other');
    // Everything but the canary's own complete credential (that is the canary reconnecting; for
    // Mosquitto, which takes the username as client id, whatever client id comes with it).
    const attempt = fc
      .record({
        clientId: who,
        username: fc.constantFrom('canary', 'attacker', 'none', 'telematics'),
        password: fc.constantFrom('attacker', 'canary', 'wrong', 'none'),
      })
      .filter((c) => !((c.clientId === 'canary' || !embedded) && c.username === 'canary' && c.password === 'canary'));
    await checkProperty(`mqtt (${mode}): client-id takeover`, runs(40), attempt, async (c) => {
      const vin = (w: string) =>
        w === 'canary' ? canaries[0] : w === 'attacker' ? attacker : w === 'empty' ? '' : w === 'telematics' ? 'telematics' : `other-${w}`;
      const password =
        c.password === 'attacker' ? setup.secret(attacker) : c.password === 'canary' ? setup.secret(canaries[0]) : c.password === 'wrong' ? 'wrong' : undefined;
      const client = await rawClient(port);
      try {
        await client.write(
          connectPacket({
            clientId: vin(c.clientId),
            ...(c.username === 'none' ? {} : { username: vin(c.username) }),
            ...(password === undefined ? {} : { password }),
          }),
        );
        await answered(client, 5_000);
        const own = (c.clientId === 'attacker' || !embedded) && c.username === 'attacker' && c.password === 'attacker';
        const code = connackCode(client.received());
        if (own) expect(code).toBe(0);
        // Refused: a CONNACK refusal, or closed without one (a password without a username breaks the protocol).
        else expect(code === undefined ? client.isClosed() : code > 0).toBe(true);
        // A kicked canary's last will would arrive at once.
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(canaryOffline).toEqual([]);
        if (own) await client.write(Buffer.from([0xe0, 0x00]));
      } finally {
        client.destroy();
      }
      return true;
    });
    await canariesUnaffected();
  });
});
