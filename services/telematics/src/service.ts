import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import client from 'prom-client';
import { z } from 'zod';
import {
  STREAMS,
  SUBJECTS,
  vehicleCommandSchema,
  vinOfSubject,
  createHealth,
  createHttpApp,
  createMetrics,
  listen,
  listenForNotifications,
  type Bus,
  type KeyValueStore,
  type Logger,
  type Pool,
  type RunningService,
  type VehicleAck,
  type VehicleAlert,
  type VehicleEventMessage,
  type VehicleStatusEvent,
} from '@evshare/kit';
import { evaluateAlerts, type AlertKind, type AlertMemory } from './alerts';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker';
import type { TelematicsConfig } from './config';
import {
  channelFilter,
  parsePayload,
  parseTopic,
  telemetrySchema,
  vehicleAckMessageSchema,
  vehicleEventSchema,
  vehicleStatusSchema,
  vehicleTopic,
  type Telemetry,
  type TripRecord,
  type VehicleCommandMessage,
} from './protocol';
import { createFleetSync } from './fleet-sync';
import { recordTrip, recordWalkUp } from './trips';
import { noticeLowBattery, noticeWalkUpStarted } from './notices';
import { diffWhitelist, entriesFromRows, type AccessRow, type Whitelist, type WhitelistEntry } from './whitelist';

export interface TelematicsDeps {
  config: TelematicsConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  /** The data cache: a member's sync version is bumped when a trip is billed. */
  cache?: KeyValueStore;
}

export type TelematicsService = RunningService & {
  /** Where cars connect (the embedded broker, or MQTT_URL). */
  mqttUrl: string;
  /** Whether the car's last status said online. */
  isOnline(vin: string): boolean;
  /** Recomputes every car's whitelist and the fleet list, and sends each online car both in full now. */
  fullSync(): Promise<void>;
  /** The fleet list's version and size (every eligible member). */
  fleetList(): { version: number; members: number };
};

/** A car reporting a stale whitelist version is repaired at most this often. */
const REPAIR_INTERVAL_MS = 30_000;
/** Attempts to record an uploaded trip (about 4 minutes with the backoff). */
const TRIP_ATTEMPTS = 12;
/** Cars recomputed per statement. */
const RECOMPUTE_CHUNK = 500;

interface Car {
  online: boolean;
  /** The version stored for the car, when known. */
  whitelistVersion?: number;
  lastRepairAt: number;
  lastFleetRepairAt: number;
  alerts?: AlertMemory;
}

/**
 * The vehicle link (claim 7): bridges the cars' MQTT terminals and the platform. Telemetry goes
 * into the vehicles table in batches; platform commands go to the cars and their acks come back
 * on the bus; every car's whitelist follows the database (LISTEN vehicle_access) by versioned
 * deltas plus periodic full syncs; trips the cars recorded offline are billed once.
 */
export async function startTelematics(deps: TelematicsDeps): Promise<TelematicsService> {
  const { config, log, db, bus, cache } = deps;
  const root = config.TELEMATICS_TOPIC_ROOT;
  const health = createHealth();
  const metrics = createMetrics('telematics', config.INSTANCE_ID);
  const registers = [metrics.registry];
  const received = new client.Counter({ name: 'telematics_messages_total', help: 'Valid messages from cars, by channel', labelNames: ['channel'], registers });
  const rejected = new client.Counter({
    name: 'telematics_messages_rejected_total',
    help: 'Messages from cars dropped, by reason',
    labelNames: ['reason'],
    registers,
  });
  const commandsTotal = new client.Counter({ name: 'telematics_commands_total', help: 'Platform commands, by outcome', labelNames: ['outcome'], registers });
  const whitelistSent = new client.Counter({
    name: 'telematics_whitelist_sent_total',
    help: 'Whitelist messages sent to cars, by kind',
    labelNames: ['kind'],
    registers,
  });
  const tripsTotal = new client.Counter({ name: 'telematics_trips_total', help: 'Trip records received, by outcome', labelNames: ['outcome'], registers });
  const walkUpsTotal = new client.Counter({
    name: 'telematics_walk_ups_total',
    help: 'Unlocks the cars granted on their own (card or app key) reported online, by outcome',
    labelNames: ['outcome'],
    registers,
  });
  const authFailures = new client.Counter({
    name: 'telematics_auth_failures_total',
    help: 'MQTT connections refused for a bad credential (embedded broker)',
    registers,
  });
  const mqttRefused = new client.Counter({
    name: 'telematics_mqtt_refused_total',
    help: 'Embedded broker: connections closed or packets refused for breaking the rules, by reason',
    labelNames: ['reason'],
    registers,
  });
  const flushSeconds = new client.Histogram({
    name: 'telematics_flush_seconds',
    help: 'Time to write one batch of telemetry',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const cars = new Map<string, Car>();
  const car = (vin: string): Car => {
    let c = cars.get(vin);
    if (!c) cars.set(vin, (c = { online: false, lastRepairAt: 0, lastFleetRepairAt: 0 }));
    return c;
  };
  new client.Gauge({
    name: 'telematics_vehicles_online',
    help: 'Cars whose last status said online',
    registers,
    collect() {
      let n = 0;
      for (const c of cars.values()) if (c.online) n++;
      this.set(n);
    },
  });

  await bus.ensureStreams([STREAMS.deductions], { createOnly: true });

  // The broker: external, or embedded with per-car authentication.
  const serviceCredential = {
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD ?? randomBytes(32).toString('base64url'),
    network: config.MQTT_PASSWORD !== undefined,
  };
  if ((config.MQTT_TLS_CERT === undefined) !== (config.MQTT_TLS_KEY === undefined)) throw new Error('MQTT_TLS_CERT and MQTT_TLS_KEY go together');
  let broker: EmbeddedBroker | undefined;
  if (!config.MQTT_URL) {
    broker = await startEmbeddedBroker({
      port: config.MQTT_PORT,
      host: config.MQTT_HOST,
      db,
      log,
      topicRoot: root,
      service: serviceCredential,
      ...(config.MQTT_TLS_CERT && config.MQTT_TLS_KEY ? { tls: { cert: readFileSync(config.MQTT_TLS_CERT), key: readFileSync(config.MQTT_TLS_KEY) } } : {}),
      maxConnectBytes: config.MQTT_MAX_CONNECT_BYTES,
      maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
      connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
      onAuthFailure: () => authFailures.inc(),
      onRefused: (reason) => mqttRefused.inc({ reason }),
    });
  }
  const mqttUrl = config.MQTT_URL ?? broker!.url;
  const useCredential = !config.MQTT_URL || config.MQTT_PASSWORD !== undefined;
  const clientOptions: IClientOptions = {
    clientId: `telematics-${randomBytes(6).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1_000,
    ...(useCredential ? { username: serviceCredential.username, password: serviceCredential.password } : {}),
    ...(config.MQTT_TLS_CA ? { ca: readFileSync(config.MQTT_TLS_CA) } : {}),
  };
  // With the embedded broker the service's own link stays in memory: nothing on the network speaks for it.
  const embedded = broker;
  const mq: MqttClient = embedded ? new MqttClient(() => embedded.connectInternal(), clientOptions) : mqtt.connect(mqttUrl, clientOptions);
  mq.on('error', (error) => (stopping ? log.debug : log.warn).call(log, { err: error }, 'mqtt client error'));
  health.addCheck('mqtt', async () => {
    if (!mq.connected) throw new Error('not connected to the MQTT broker');
  });
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('bus', () => bus.ping());

  const publish = (topic: string, message: unknown, options: { qos: 0 | 1; retain?: boolean } = { qos: 1 }) =>
    new Promise<void>((resolve, reject) => mq.publish(topic, JSON.stringify(message), options, (error) => (error ? reject(error) : resolve())));
  const sendCommand = (vin: string, command: VehicleCommandMessage) => publish(vehicleTopic(root, vin, 'commands'), command);
  const expiry = () => new Date(Date.now() + config.TELEMATICS_COMMAND_TTL_MS).toISOString();
  const safely = (what: string, work: () => Promise<unknown>) => {
    work().catch((error: unknown) => log.warn({ err: error }, `${what} failed`));
  };

  // ---- Telemetry: the latest report per car, written in one statement per interval.
  let buffer = new Map<string, Telemetry>();
  let flushing: Promise<void> | undefined;
  const raiseAlert = (vin: string, kind: AlertKind, detail: Pick<VehicleAlert, 'socPct'>) =>
    bus.publish(SUBJECTS.vehicleAlert(vin), { vin, kind, at: new Date().toISOString(), ...detail } satisfies VehicleAlert);
  async function flush(): Promise<void> {
    if (buffer.size === 0) return;
    const batch = [...buffer.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    buffer = new Map();
    const end = flushSeconds.startTimer();
    const column = <T>(pick: (t: Telemetry) => T) => batch.map(([, t]) => pick(t));
    const { rows } = await db.query<{ vin: string; state: string; soc: number; open: boolean }>(
      `UPDATE vehicles v SET lat = d.lat, lng = d.lng, speed_kmh = d.speed, soc_pct = d.soc, odometer_m = d.odo, doors_open = d.open,
              doors_locked = d.locked, ignition = d.ign, cable_connected = d.cable, reported_at = d.at, last_seen_at = now()
         FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::real[], $6::numeric[], $7::bigint[], $8::bool[], $9::bool[], $10::bool[], $11::bool[])
              AS d(vin, at, lat, lng, speed, soc, odo, open, locked, ign, cable)
        WHERE v.vin = d.vin AND (v.reported_at IS NULL OR v.reported_at <= d.at)
        RETURNING v.vin, v.state, d.soc::float8 AS soc, d.open`,
      [
        batch.map(([vin]) => vin),
        column((t) => t.at),
        column((t) => t.lat),
        column((t) => t.lng),
        column((t) => t.speedKmh),
        column((t) => t.socPct),
        column((t) => t.odometerM),
        column((t) => t.doorsOpen),
        column((t) => t.locked),
        column((t) => t.ignition),
        column((t) => t.cableConnected),
      ],
    );
    end();
    for (const row of rows) {
      const c = car(row.vin);
      const { memory, raised } = evaluateAlerts(c.alerts, { state: row.state, socPct: row.soc, doorsOpen: row.open }, config.TELEMATICS_LOW_SOC_PCT);
      c.alerts = memory;
      for (const kind of raised) raiseAlert(row.vin, kind, { socPct: row.soc });
    }
    safely('low-battery notice', () =>
      noticeLowBattery(
        { db, bus, cache },
        rows.map((row) => ({ vin: row.vin, state: row.state, socPct: row.soc })),
        {
          thresholdPct: config.TELEMATICS_LOW_BATTERY_NOTICE_PCT,
          stations: config.TELEMATICS_LOW_BATTERY_STATIONS,
        },
      ),
    );
  }

  // ---- Whitelists.
  async function storedLists(vins: string[]): Promise<Map<string, Whitelist>> {
    const { rows } = await db.query<{ vin: string; version: number; entries: WhitelistEntry[] }>(
      'SELECT vin, version, entries FROM vehicle_whitelists WHERE vin = ANY($1)',
      [vins],
    );
    return new Map(rows.map((r) => [r.vin, { version: r.version, entries: r.entries }]));
  }

  async function sendFull(vins: string[]): Promise<void> {
    const online = vins.filter((vin) => cars.get(vin)?.online);
    if (online.length === 0) return;
    const lists = await storedLists(online);
    for (const vin of online) {
      const list = lists.get(vin) ?? { version: 0, entries: [] };
      car(vin).whitelistVersion = list.version;
      await sendCommand(vin, { commandId: randomUUID(), expiresAt: expiry(), action: 'whitelist-full', version: list.version, entries: list.entries });
      whitelistSent.inc({ kind: 'full' });
    }
  }

  /** Recomputes the lists of these cars (ids), stores a new version where they changed, sends deltas. */
  async function recompute(vehicleIds: string[]): Promise<void> {
    for (let i = 0; i < vehicleIds.length; i += RECOMPUTE_CHUNK) {
      const ids = vehicleIds.slice(i, i + RECOMPUTE_CHUNK);
      const { rows: vinRows } = await db.query<{ vin: string }>('SELECT vin FROM vehicles WHERE id = ANY($1::uuid[])', [ids]);
      // Renters of the car, and operators with a live grant on this car only (still active admins).
      const { rows } = await db.query<Omit<AccessRow, 'validUntil'> & { vin: string; validUntil: Date | null }>(
        `WITH cars AS (SELECT id, vin FROM vehicles WHERE id = ANY($1::uuid[])),
         holds AS (
           SELECT vehicle_id, member_id FROM reservations WHERE status = 'active' AND vehicle_id = ANY($1::uuid[])
           UNION SELECT vehicle_id, member_id FROM rentals WHERE status IN ('unlocking', 'active') AND vehicle_id = ANY($1::uuid[])
         ),
         grants AS (
           SELECT vehicle_id, member_id, max(valid_until) AS valid_until FROM vehicle_operator_access
            WHERE vehicle_id = ANY($1::uuid[]) AND valid_until > now() GROUP BY vehicle_id, member_id
         ),
         allowed AS (
           SELECT c.vin, h.member_id, 'renter' AS role, NULL::timestamptz AS valid_until FROM cars c JOIN holds h ON h.vehicle_id = c.id
           UNION ALL SELECT c.vin, g.member_id, 'operator', g.valid_until FROM cars c JOIN grants g ON g.vehicle_id = c.id
             JOIN members o ON o.id = g.member_id AND o.role = 'admin'
         )
         SELECT a.vin, a.member_id AS "memberId", a.role, mc.uid AS "cardUid", a.valid_until AS "validUntil"
           FROM allowed a JOIN members m ON m.id = a.member_id AND m.status = 'active'
           LEFT JOIN membership_cards mc ON mc.member_id = a.member_id`,
        [ids],
      );
      const byVin = new Map<string, AccessRow[]>(vinRows.map((r) => [r.vin, []]));
      for (const row of rows) byVin.get(row.vin)?.push({ ...row, validUntil: row.validUntil?.toISOString() ?? null });
      const stored = await storedLists([...byVin.keys()]);
      const changes: Array<{ vin: string; version: number; entries: WhitelistEntry[]; delta: NonNullable<ReturnType<typeof diffWhitelist>> }> = [];
      for (const [vin, access] of byVin) {
        const entries = entriesFromRows(access);
        const delta = diffWhitelist(stored.get(vin) ?? { version: 0, entries: [] }, entries);
        if (delta) changes.push({ vin, version: delta.version, entries, delta });
      }
      if (changes.length === 0) continue;
      // The version check makes a concurrent writer's change win rather than be overwritten.
      const { rows: written } = await db.query<{ vin: string }>(
        `INSERT INTO vehicle_whitelists AS w (vin, version, entries)
         SELECT * FROM unnest($1::text[], $2::int[], $3::jsonb[])
         ON CONFLICT (vin) DO UPDATE SET version = excluded.version, entries = excluded.entries, updated_at = now()
           WHERE w.version = excluded.version - 1
         RETURNING vin`,
        [changes.map((c) => c.vin), changes.map((c) => c.version), changes.map((c) => JSON.stringify(c.entries))],
      );
      const stored2 = new Set(written.map((r) => r.vin));
      for (const change of changes) {
        if (!stored2.has(change.vin)) continue;
        const c = car(change.vin);
        c.whitelistVersion = change.version;
        if (!c.online) continue;
        await sendCommand(change.vin, { commandId: randomUUID(), expiresAt: expiry(), action: 'whitelist-delta', delta: change.delta });
        whitelistSent.inc({ kind: 'delta' });
      }
    }
  }

  async function allVehicleIds(): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM vehicles ORDER BY id');
    return rows.map((r) => r.id);
  }

  // An operator's grant ends by itself: the cars whose grants just ended are recomputed then (the
  // car also refuses the entry on its own from its validUntil).
  let expiredUpTo = new Date();
  let expiryTimer: NodeJS.Timeout | undefined;
  async function planExpiry(): Promise<void> {
    const { rows } = await db.query<{ next: Date | null }>('SELECT min(valid_until) AS next FROM vehicle_operator_access WHERE valid_until > $1', [
      expiredUpTo,
    ]);
    clearTimeout(expiryTimer);
    const next = rows[0]?.next;
    if (!next || stopping) return;
    expiryTimer = setTimeout(() => safely('operator access expiry', expire), Math.min(2 ** 31 - 1, Math.max(0, next.getTime() - Date.now()) + 20));
  }
  async function expire(): Promise<void> {
    const upTo = new Date();
    const { rows } = await db.query<{ id: string }>(
      'SELECT DISTINCT vehicle_id AS id FROM vehicle_operator_access WHERE valid_until > $1 AND valid_until <= $2',
      [expiredUpTo, upTo],
    );
    expiredUpTo = upTo;
    for (const row of rows) schedule(row.id);
    await planExpiry();
  }

  // Changes are gathered for a short quiet time, then recomputed one run at a time.
  const pending = new Set<string>();
  let pendingAll = false;
  let debounce: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = (payload: string) => {
    if (payload === '*') pendingAll = true;
    else if (z.string().uuid().safeParse(payload).success) pending.add(payload);
    else return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      const all = pendingAll;
      const ids = [...pending];
      pending.clear();
      pendingAll = false;
      running = running.then(async () => {
        try {
          await recompute(all ? await allVehicleIds() : ids);
          await planExpiry();
        } catch (error) {
          log.warn({ err: error }, 'whitelist recompute failed; retrying every car');
          setTimeout(() => schedule('*'), config.TELEMATICS_LISTEN_RETRY_MS).unref();
        }
      });
    }, config.TELEMATICS_WHITELIST_DEBOUNCE_MS);
  };
  let stopping = false;

  const onlineVins = () => [...cars.entries()].filter(([, c]) => c.online).map(([vin]) => vin);
  const fleet = createFleetSync({
    db,
    log,
    send: sendCommand,
    online: onlineVins,
    expiresAt: expiry,
    pageBytes: config.TELEMATICS_FLEET_PAGE_BYTES,
    debounceMs: config.TELEMATICS_WHITELIST_DEBOUNCE_MS,
    onSent: (kind, count) => whitelistSent.inc({ kind }, count),
  });

  async function fullSync(): Promise<void> {
    await running;
    await recompute(await allVehicleIds());
    await fleet.recompute();
    const online = onlineVins();
    await sendFull(online);
    await fleet.sendFull(online);
  }

  /**
   * The car forgets a trip once the broker has it, so a failure here (database down) is retried
   * with backoff; billing is idempotent, so a retry after an unseen commit is harmless.
   */
  async function billTrip(vin: string, trip: TripRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        tripsTotal.inc({ outcome: await recordTrip({ db, bus, log, cache, requestedBy: `telematics:${config.INSTANCE_ID}` }, vin, trip) });
        return;
      } catch (error) {
        if (attempt >= TRIP_ATTEMPTS || stopping) {
          tripsTotal.inc({ outcome: 'failed' });
          log.error({ err: error, vin, trip }, 'trip not recorded; it must be billed by hand');
          return;
        }
        log.warn({ err: error, vin, tripId: trip.tripId, attempt }, 'trip not recorded yet, retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
  }

  /** A failure here loses nothing: the trip record bills the trip when the car uploads it. */
  async function startWalkUp(vin: string, unlock: { memberId: string; tripId: string; at: string; cardUid?: string | undefined }): Promise<void> {
    try {
      const outcome = await recordWalkUp({ db, cache }, vin, unlock);
      walkUpsTotal.inc({ outcome });
      if (outcome === 'started') safely('rental-started notice', () => noticeWalkUpStarted({ db, bus, cache }, unlock.tripId));
    } catch (error) {
      walkUpsTotal.inc({ outcome: 'failed' });
      log.warn({ err: error, vin, tripId: unlock.tripId }, 'walk-up rental not started; the trip record will bill the trip');
    }
  }

  // ---- Messages from the cars. Nothing a car sends can throw out of here.
  function onMessage(topic: string, payload: Buffer): void {
    const target = parseTopic(root, topic);
    if (!target) {
      rejected.inc({ reason: 'topic' });
      return;
    }
    const { vin, channel } = target;
    if (channel === 'commands') return;
    if (channel === 'status') {
      if (payload.length === 0) return; // a cleared retained message
      const parsed = parsePayload(vehicleStatusSchema, payload);
      if (!parsed.ok) return void rejected.inc({ reason: parsed.reason });
      received.inc({ channel });
      const c = car(vin);
      const wasOnline = c.online;
      c.online = parsed.value.online;
      bus.publish(SUBJECTS.vehicleStatus(vin), { vin, online: c.online, at: new Date().toISOString() } satisfies VehicleStatusEvent);
      safely('status update', () => db.query('UPDATE vehicles SET online = $2, last_seen_at = now() WHERE vin = $1', [vin, c.online]));
      // A car says online only when it (re)connects: it gets its full list every time.
      if (c.online) {
        safely('whitelist sync on connect', () => sendFull([vin]));
        safely('fleet list sync on connect', () => fleet.sendFull([vin]));
      }
      if (!c.online && wasOnline) raiseAlert(vin, 'offline', {});
      return;
    }
    if (channel === 'telemetry') {
      const parsed = parsePayload(telemetrySchema, payload);
      if (!parsed.ok) return void rejected.inc({ reason: parsed.reason });
      received.inc({ channel });
      buffer.set(vin, parsed.value);
      const c = car(vin);
      const reported = parsed.value.whitelistVersion;
      if (
        c.online &&
        reported !== undefined &&
        c.whitelistVersion !== undefined &&
        reported !== c.whitelistVersion &&
        Date.now() - c.lastRepairAt > REPAIR_INTERVAL_MS
      ) {
        c.lastRepairAt = Date.now();
        safely('whitelist repair', () => sendFull([vin]));
      }
      const fleetReported = parsed.value.fleetVersion;
      if (c.online && fleetReported !== undefined && fleetReported !== fleet.version && Date.now() - c.lastFleetRepairAt > REPAIR_INTERVAL_MS) {
        c.lastFleetRepairAt = Date.now();
        safely('fleet list repair', () => fleet.sendFull([vin]));
      }
      return;
    }
    if (channel === 'acks') {
      const parsed = parsePayload(vehicleAckMessageSchema, payload);
      if (!parsed.ok) return void rejected.inc({ reason: parsed.reason });
      received.inc({ channel });
      const { commandId, ok, reason, fleetVersion } = parsed.value;
      bus.publish(SUBJECTS.vehicleAck(vin), { commandId, ok, ...(reason === undefined ? {} : { reason }) } satisfies VehicleAck);
      // A car that could not apply a delta (it missed one) gets the whole list: the fleet list
      // when its ack names the fleet version (one repair per interval: deltas keep coming).
      if (!ok && reason === 'version-mismatch') {
        const c = car(vin);
        if (fleetVersion === undefined) safely('whitelist repair', () => sendFull([vin]));
        else if (Date.now() - c.lastFleetRepairAt > REPAIR_INTERVAL_MS) {
          c.lastFleetRepairAt = Date.now();
          safely('fleet list repair', () => fleet.sendFull([vin]));
        }
      }
      return;
    }
    const parsed = parsePayload(vehicleEventSchema, payload);
    if (!parsed.ok) return void rejected.inc({ reason: parsed.reason });
    received.inc({ channel });
    const event = parsed.value;
    if (event.type === 'trip') return void billTrip(vin, event.trip);
    if (event.type === 'local-unlock' && event.granted && event.memberId && event.tripId) {
      void startWalkUp(vin, { memberId: event.memberId, tripId: event.tripId, at: event.at, cardUid: event.cardUid });
    }
    bus.publish(SUBJECTS.vehicleEvent(vin), { vin, ...event } satisfies VehicleEventMessage);
  }
  mq.on('message', (topic, payload) => {
    try {
      onMessage(topic, payload);
    } catch (error) {
      rejected.inc({ reason: 'error' });
      log.warn({ err: error, topic }, 'message from a car not handled');
    }
  });
  const subscriptions = {
    [channelFilter(root, 'status')]: { qos: 1 as const },
    [channelFilter(root, 'telemetry')]: { qos: 0 as const },
    [channelFilter(root, 'events')]: { qos: 1 as const },
    [channelFilter(root, 'acks')]: { qos: 1 as const },
  };
  mq.on('connect', () => {
    mq.subscribe(subscriptions, (error) => {
      if (error) log.error({ err: error }, 'mqtt subscribe failed');
    });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cannot connect to the MQTT broker at ${mqttUrl}`)), 10_000);
    mq.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  }).catch(async (error: unknown) => {
    mq.end(true);
    await broker?.close();
    throw error;
  });

  // When the listening connection breaks, notifications sent meanwhile are lost: every car is
  // recomputed once listening again.
  const listener = await listenForNotifications(db, {
    channel: 'vehicle_access',
    log,
    retryMs: config.TELEMATICS_LISTEN_RETRY_MS,
    onNotification: schedule,
    onReconnect: () => schedule('*'),
  });
  const memberListener = await listenForNotifications(db, {
    channel: 'member_access',
    log,
    retryMs: config.TELEMATICS_LISTEN_RETRY_MS,
    onNotification: fleet.schedule,
    onReconnect: () => fleet.schedule('*'),
  });
  health.addCheck('listener', async () => {
    if (!listener.listening() || !memberListener.listening()) throw new Error('not listening for whitelist changes');
  });
  // Whatever changed while no telematics instance listened is caught up now.
  await recompute(await allVehicleIds());
  await planExpiry();
  await fleet.load();
  await fleet.recompute();
  const fullSyncTimer = setInterval(
    () =>
      safely('periodic full sync', async () => {
        await running;
        await recompute(await allVehicleIds());
        await sendFull(onlineVins());
      }),
    config.TELEMATICS_FULL_SYNC_INTERVAL_MS,
  );
  const fleetFullSyncTimer = setInterval(
    () => safely('periodic fleet list sync', () => fleet.sendFull(onlineVins())),
    config.TELEMATICS_FLEET_FULL_SYNC_INTERVAL_MS,
  );
  const fleetRecheckTimer = setInterval(() => safely('fleet list recheck', () => fleet.recompute()), config.TELEMATICS_FLEET_RECHECK_MS);
  const flushTimer = setInterval(() => {
    if (flushing) return;
    flushing = flush()
      .catch((error: unknown) => log.warn({ err: error }, 'telemetry batch not written'))
      .finally(() => (flushing = undefined));
  }, config.TELEMATICS_FLUSH_INTERVAL_MS);

  // ---- Commands from the platform (one telematics instance per command: queue group).
  const stopCommands = bus.subscribe(
    SUBJECTS.vehicleCommandAll,
    (data, subject) => {
      const parsed = vehicleCommandSchema.safeParse(data);
      const vin = vinOfSubject(subject);
      if (!parsed.success || parsed.data.vin !== vin) {
        commandsTotal.inc({ outcome: 'invalid' });
        return;
      }
      const { commandId, action, expiresAt } = parsed.data;
      if (Date.parse(expiresAt) <= Date.now()) {
        commandsTotal.inc({ outcome: 'expired' });
        return;
      }
      if (!cars.get(vin)?.online) {
        commandsTotal.inc({ outcome: 'offline' });
        bus.publish(SUBJECTS.vehicleAck(vin), { commandId, ok: false, reason: 'offline' } satisfies VehicleAck);
        return;
      }
      commandsTotal.inc({ outcome: 'sent' });
      safely('command', () => sendCommand(vin, { commandId, action, expiresAt }));
    },
    { queue: 'telematics' },
  );

  const app = createHttpApp({ log, metrics, health, routes: () => undefined });
  const server = await listen(app, config.PORT, config.HOST);
  let stopped: Promise<void> | undefined;
  return {
    name: 'telematics',
    url: server.url,
    port: server.port,
    health,
    mqttUrl,
    isOnline: (vin) => cars.get(vin)?.online ?? false,
    fullSync,
    fleetList: () => ({ version: fleet.version, members: fleet.size }),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        health.startDraining();
        stopCommands();
        clearInterval(fullSyncTimer);
        clearInterval(fleetFullSyncTimer);
        clearInterval(fleetRecheckTimer);
        clearInterval(flushTimer);
        clearTimeout(debounce);
        await running;
        clearTimeout(expiryTimer);
        await flushing;
        await flush().catch((error: unknown) => log.warn({ err: error }, 'last telemetry batch not written'));
        await fleet.stop();
        await listener.close();
        await memberListener.close();
        await new Promise<void>((resolve) => mq.end(false, {}, () => resolve()));
        await broker?.close();
        await server.close();
      })();
      return stopped;
    },
  };
}
