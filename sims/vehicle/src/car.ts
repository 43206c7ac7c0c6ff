import { createHash, type KeyObject } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  applyDelta,
  applyFleetDelta,
  applyFull,
  appKeyPublicKey,
  collectPage,
  decideUnlock,
  emptyFleetList,
  parsePayload,
  vehicleCommandSchema,
  vehicleTopic,
  verifyAppKey,
  type Credential,
  type FleetAssembly,
  type FleetList,
  type Telemetry,
  type TripRecord,
  type VehicleCommandMessage,
  type VehicleEvent,
  type Whitelist,
} from '@evshare/telematics';
import { CommandLedger, type Ack } from './commands';
import { charge, drive, reportedSoc, type Physics } from './model';

export interface SimCarOptions {
  vin: string;
  /** Omitted for a broker that accepts anonymous clients (a local Mosquitto). */
  secret?: string;
  brokerUrl: string;
  /** CA certificates (PEM) to trust for an `mqtts://` broker, beside the system's. */
  ca?: Buffer;
  topicRoot: string;
  start: { lat: number; lng: number; socPct: number; odometerM: number };
  batteryKwh?: number;
  telemetryParkedMs: number;
  telemetryDrivingMs: number;
  now?: () => number;
  /** The platform's Ed25519 public key (PEM or key), provisioned into the terminal: it verifies app keys offline. Without it app keys are refused. */
  platformKey?: string | KeyObject;
}

/** What is presented at the car: a membership card, or the app's signed key for this car. */
export type TerminalCredential = { cardUid: string } | { appKey: string };

export interface CarCounters {
  telemetrySent: number;
  commandsExecuted: number;
  commandsRepeated: number;
  commandsStale: number;
  commandsInvalid: number;
  unlocksGranted: number;
  unlocksRefused: number;
  tripsRecorded: number;
  tripsUploaded: number;
  offlinePeriods: number;
  /** Horn and lights for a member looking for the car. */
  locates: number;
}

interface ActiveTrip {
  tripId: string;
  memberId: string;
  cardUid?: string;
  startedAt: string;
  start: Physics;
  offline: boolean;
}

/**
 * One simulated time-share terminal: an MQTT client (last will: offline) that reports telemetry,
 * executes the platform's commands once each, keeps the whitelist by version, unlocks locally for
 * a listed card or app token even without a connection, and keeps the trips made offline until
 * it can upload them.
 */
export class SimCar {
  readonly vin: string;
  physics: Physics;
  doorsOpen = false;
  locked = true;
  ignition = false;
  cableConnected = false;
  immobilised = false;
  /** The car's own list: its renter, operators granted this car. */
  whitelist: Whitelist = { version: 0, entries: [] };
  /** The fleet list: every member eligible to rent, with their cards. */
  fleet: FleetList = emptyFleetList();
  private fleetAssembly: FleetAssembly | undefined;
  trip: ActiveTrip | undefined;
  /** Trips not yet accepted by the broker (recorded offline, or in flight). */
  readonly storedTrips: TripRecord[] = [];
  readonly counters: CarCounters = {
    telemetrySent: 0,
    commandsExecuted: 0,
    commandsRepeated: 0,
    commandsStale: 0,
    commandsInvalid: 0,
    unlocksGranted: 0,
    unlocksRefused: 0,
    tripsRecorded: 0,
    tripsUploaded: 0,
    offlinePeriods: 0,
    locates: 0,
  };
  /** Every command executed, in order (for tests and the summary). */
  readonly executed: VehicleCommandMessage[] = [];
  private readonly ledger = new CommandLedger();
  private client: MqttClient | undefined;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private tripSerial = 0;
  private readonly now: () => number;
  private readonly platformKey: KeyObject | undefined;
  /** Why the last local unlock was refused (a key's refusal or the lists' decision). */
  lastRefusal: string | undefined;

  constructor(private readonly options: SimCarOptions) {
    this.vin = options.vin;
    this.now = options.now ?? Date.now;
    this.platformKey = options.platformKey === undefined ? undefined : appKeyPublicKey(options.platformKey);
    this.physics = { ...options.start, speedKmh: 0, batteryKwh: options.batteryKwh ?? 42.5, whPerKm: 130 };
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private topic(channel: 'telemetry' | 'events' | 'commands' | 'acks' | 'status') {
    return vehicleTopic(this.options.topicRoot, this.vin, channel);
  }

  /** Connects (again); resolves when the broker accepted the connection. */
  connect(): Promise<void> {
    if (this.client) return Promise.resolve();
    const client = mqtt.connect(this.options.brokerUrl, {
      // The broker binds the client id to the credential: a car's is its VIN.
      clientId: this.vin,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2_000,
      ...(this.options.secret === undefined ? {} : { username: this.vin, password: this.options.secret }),
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      will: { topic: this.topic('status'), payload: Buffer.from(JSON.stringify({ online: false })), qos: 1, retain: true },
    });
    this.client = client;
    client.on('error', () => undefined);
    client.on('message', (_topic, payload) => this.onCommand(payload));
    client.on('connect', () => {
      client.subscribe(this.topic('commands'), { qos: 1 }, () => {
        client.publish(this.topic('status'), JSON.stringify({ online: true, at: this.iso() }), { qos: 1, retain: true });
        this.uploadTrips();
        this.sendTelemetry();
      });
    });
    this.scheduleTelemetry();
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
  }

  /** Loses the connection without saying goodbye: the broker publishes the last will (offline). */
  goOffline(): void {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    clearTimeout(this.telemetryTimer);
    this.counters.offlinePeriods++;
    client.end(true);
  }

  /** Disconnects cleanly after marking itself offline (the simulator stopping). */
  async close(): Promise<void> {
    clearTimeout(this.telemetryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected)
      await client.publishAsync(this.topic('status'), JSON.stringify({ online: false, at: this.iso() }), { qos: 1, retain: true }).catch(() => undefined);
    await client.endAsync();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private scheduleTelemetry(): void {
    clearTimeout(this.telemetryTimer);
    const every = this.physics.speedKmh > 0 ? this.options.telemetryDrivingMs : this.options.telemetryParkedMs;
    this.telemetryTimer = setTimeout(() => {
      this.sendTelemetry();
      this.scheduleTelemetry();
    }, every);
    this.telemetryTimer.unref();
  }

  telemetry(): Telemetry {
    return {
      at: this.iso(),
      lat: this.physics.lat,
      lng: this.physics.lng,
      speedKmh: this.physics.speedKmh,
      socPct: reportedSoc(this.physics),
      odometerM: this.physics.odometerM,
      doorsOpen: this.doorsOpen,
      locked: this.locked,
      ignition: this.ignition,
      cableConnected: this.cableConnected,
      whitelistVersion: this.whitelist.version,
      fleetVersion: this.fleet.version,
    };
  }

  /** Publishes the current state now (when connected). */
  sendTelemetry(): void {
    if (!this.client?.connected) return;
    this.client.publish(this.topic('telemetry'), JSON.stringify(this.telemetry()), { qos: 0 });
    this.counters.telemetrySent++;
  }

  private publishEvent(event: VehicleEvent): void {
    if (this.client?.connected) this.client.publish(this.topic('events'), JSON.stringify(event), { qos: 1 });
  }

  private ack(ack: Ack): void {
    this.client?.publish(this.topic('acks'), JSON.stringify(ack), { qos: 1 });
  }

  private onCommand(payload: Buffer): void {
    const parsed = parsePayload(vehicleCommandSchema, payload);
    if (!parsed.ok) {
      this.counters.commandsInvalid++;
      return;
    }
    const command = parsed.value;
    const decision = this.ledger.decide(command, this.now());
    if (decision.kind === 'repeat') {
      this.counters.commandsRepeated++;
      return this.ack(decision.ack);
    }
    if (decision.kind === 'stale') {
      this.counters.commandsStale++;
      return this.ack(decision.ack);
    }
    const ack = this.execute(command);
    this.counters.commandsExecuted++;
    this.executed.push(command);
    this.ledger.record(ack);
    this.ack(ack);
  }

  private execute(command: VehicleCommandMessage): Ack {
    const { commandId } = command;
    switch (command.action) {
      case 'unlock':
        if (this.immobilised) return { commandId, ok: false, reason: 'immobilised' };
        this.locked = false;
        this.sendTelemetry();
        return { commandId, ok: true };
      case 'lock':
        this.locked = true;
        this.doorsOpen = false;
        this.sendTelemetry();
        return { commandId, ok: true };
      case 'locate':
        this.counters.locates++;
        return { commandId, ok: true };
      case 'report':
        this.sendTelemetry();
        return { commandId, ok: true };
      case 'immobilise':
        this.immobilised = true;
        this.physics = { ...this.physics, speedKmh: 0 };
        return { commandId, ok: true };
      case 'whitelist-delta': {
        const result = applyDelta(this.whitelist, command.delta);
        if (!result.ok) return { commandId, ok: false, reason: result.reason, whitelistVersion: this.whitelist.version };
        this.whitelist = result.list;
        return { commandId, ok: true, whitelistVersion: this.whitelist.version };
      }
      case 'whitelist-full':
        this.whitelist = applyFull({ version: command.version, entries: command.entries });
        return { commandId, ok: true, whitelistVersion: this.whitelist.version };
      case 'fleet-delta': {
        const result = applyFleetDelta(this.fleet, command.delta);
        if (!result.ok) return { commandId, ok: false, reason: result.reason, fleetVersion: this.fleet.version };
        this.fleet = result.list;
        return { commandId, ok: true, fleetVersion: this.fleet.version };
      }
      case 'fleet-full': {
        const { assembly, complete, refused } = collectPage(this.fleetAssembly, command);
        if (refused) return { commandId, ok: false, reason: refused };
        this.fleetAssembly = assembly;
        if (complete) this.fleet = complete;
        return { commandId, ok: true, fleetVersion: this.fleet.version };
      }
    }
  }

  /**
   * A card held to the reader or the app's key (app-key.ts, signed by the platform) sent over the
   * short-range link:
   * decided by the car alone from its lists (decideUnlock: its own renter and operators, else
   * any member on the fleet list when nobody holds the car), by its own clock (an operator's
   * entry past its validUntil no longer opens it, even offline). Granted: the doors unlock and a
   * trip starts.
   */
  localUnlock(credential: TerminalCredential): boolean {
    const via = 'cardUid' in credential ? 'card' : 'app';
    if ('cardUid' in credential) this.publishEvent({ type: 'card-swipe', at: this.iso(), cardUid: credential.cardUid });
    // An app key opens nothing by itself: once its signature, car and window check out, its member
    // is decided on like a card's.
    let verified: Credential | undefined;
    if ('cardUid' in credential) verified = credential;
    else if (!this.platformKey) this.lastRefusal = 'no-platform-key';
    else {
      const key = verifyAppKey(this.platformKey, credential.appKey, { vin: this.vin, nowMs: this.now() });
      if (key.ok) verified = { memberId: key.claims.mid };
      else this.lastRefusal = key.reason;
    }
    const decision = verified
      ? decideUnlock({ car: this.whitelist, fleet: this.fleet, ...(this.trip ? { tripMemberId: this.trip.memberId } : {}) }, verified, this.now())
      : undefined;
    const entry = decision?.granted ? { memberId: decision.memberId } : undefined;
    if (decision && !decision.granted) this.lastRefusal = decision.reason;
    if (!entry) {
      this.publishEvent({
        type: 'local-unlock',
        at: this.iso(),
        granted: false,
        via,
        ...('cardUid' in credential ? { cardUid: credential.cardUid } : verified && 'memberId' in verified ? { memberId: verified.memberId } : {}),
      });
      this.counters.unlocksRefused++;
      return false;
    }
    this.lastRefusal = undefined;
    this.counters.unlocksGranted++;
    this.locked = false;
    if (!this.trip) {
      this.tripSerial++;
      this.trip = {
        tripId: tripId(this.vin, this.iso(), this.tripSerial),
        memberId: entry.memberId,
        ...('cardUid' in credential ? { cardUid: credential.cardUid } : {}),
        startedAt: this.iso(),
        start: { ...this.physics },
        offline: !this.connected,
      };
    }
    // Granted: who, and the trip it is part of, so the platform can start the rental at once.
    this.publishEvent({
      type: 'local-unlock',
      at: this.iso(),
      granted: true,
      via,
      memberId: entry.memberId,
      ...('cardUid' in credential ? { cardUid: credential.cardUid } : {}),
      tripId: this.trip.tripId,
    });
    return true;
  }

  /** Drives `metres` at `speedKmh` (in one step of simulated time). */
  driveDistance(metres: number, speedKmh = 40, headingRad = 0): void {
    if (this.immobilised || this.locked) return;
    if (this.trip && !this.connected) this.trip.offline = true;
    this.ignition = true;
    this.physics = drive(this.physics, (metres / (speedKmh / 3.6)) * 1000, speedKmh, headingRad);
  }

  /** Advances driving by `dtMs` (the autopilot's step). */
  step(dtMs: number, speedKmh: number, headingRad: number): void {
    if (this.immobilised || this.locked) return;
    if (this.trip && !this.connected) this.trip.offline = true;
    this.ignition = speedKmh > 0;
    this.physics = drive(this.physics, dtMs, speedKmh, headingRad);
  }

  chargeFor(dtMs: number, powerKw: number): void {
    this.cableConnected = true;
    this.physics = charge(this.physics, dtMs, powerKw);
  }

  /** Parks, locks and records the trip; uploaded now when connected, else kept until reconnect. */
  endTrip(): TripRecord | undefined {
    const trip = this.trip;
    this.physics = { ...this.physics, speedKmh: 0 };
    this.ignition = false;
    this.locked = true;
    this.doorsOpen = false;
    if (!trip) return undefined;
    this.trip = undefined;
    const record: TripRecord = {
      tripId: trip.tripId,
      memberId: trip.memberId,
      ...(trip.cardUid ? { cardUid: trip.cardUid } : {}),
      startedAt: trip.startedAt,
      endedAt: this.iso(),
      startOdometerM: trip.start.odometerM,
      endOdometerM: this.physics.odometerM,
      startSocPct: reportedSoc(trip.start),
      endSocPct: reportedSoc(this.physics),
      startLat: trip.start.lat,
      startLng: trip.start.lng,
      endLat: this.physics.lat,
      endLng: this.physics.lng,
      offline: trip.offline || !this.connected,
    };
    this.counters.tripsRecorded++;
    this.storedTrips.push(record);
    this.uploadTrips();
    return record;
  }

  /** Publishes the stored trips (QoS 1); each is forgotten once the broker has it. */
  uploadTrips(): void {
    const client = this.client;
    if (!client?.connected) return;
    for (const trip of [...this.storedTrips]) {
      client.publish(this.topic('events'), JSON.stringify({ type: 'trip', at: this.iso(), trip } satisfies VehicleEvent), { qos: 1 }, (error) => {
        if (error) return;
        const index = this.storedTrips.indexOf(trip);
        if (index >= 0) {
          this.storedTrips.splice(index, 1);
          this.counters.tripsUploaded++;
        }
      });
    }
  }

  /** Uploads an already-uploaded trip again (what a terminal does when a PUBACK is lost). */
  reupload(trip: TripRecord): Promise<void> {
    if (!this.client?.connected) return Promise.reject(new Error('not connected'));
    return this.client
      .publishAsync(this.topic('events'), JSON.stringify({ type: 'trip', at: this.iso(), trip } satisfies VehicleEvent), { qos: 1 })
      .then(() => undefined);
  }

  /** Sends raw bytes on one of its own topics (to show the platform survives garbage). */
  publishRaw(channel: 'telemetry' | 'events' | 'acks' | 'status', payload: string | Buffer): Promise<void> {
    if (!this.client?.connected) return Promise.reject(new Error('not connected'));
    return this.client.publishAsync(this.topic(channel), payload, { qos: 1 }).then(() => undefined);
  }
}

/** Unique per car and start time, reproducible from them (no randomness needed). */
export function tripId(vin: string, startedAt: string, serial: number): string {
  const h = createHash('sha256').update(`${vin}|${startedAt}|${serial}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
