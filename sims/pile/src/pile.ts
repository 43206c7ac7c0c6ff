import { RPCClient } from 'ocpp-rpc';
import { clearProfiles, deliveredPowerW, installProfile, profileLimitW, type ChargingProfile, type InstalledProfile } from './limit';

export interface PileSpec {
  id: string;
  password: string;
  /** The car parked at the pile, reported with DataTransfer (evshare / ParkedVehicle). */
  vin?: string;
  /** A membership card to start charging with on arrival (autoStart). */
  idTag?: string;
  maxPowerW: number;
  carMaxPowerW: number;
  batteryWh: number;
  socPct: number;
  /** Where in its heartbeat and meter cycles the pile starts, 0..1. */
  phase?: number;
}

export interface PileOptions {
  url: string;
  /** Heartbeat period; by default the interval the central system gives at boot. */
  heartbeatIntervalMs?: number;
  meterIntervalMs: number;
  /** Simulated seconds per real second for the battery (delivered power stays the limit). */
  speed: number;
  autoStart: boolean;
  voltage?: number;
  phases?: number;
  /** Every call's round-trip time, for the benchmark. */
  onLatency?(action: string, ms: number): void;
  onEvent?(pileId: string, event: string, detail?: unknown): void;
}

type ConnectorStatus = 'Available' | 'Preparing' | 'Charging' | 'SuspendedEVSE' | 'SuspendedEV' | 'Finishing' | 'Reserved' | 'Unavailable' | 'Faulted';

/**
 * The params of the central system's calls the pile answers, typed after the OCPP 1.6 JSON
 * schemas (the client runs in strict mode: ocpp-rpc validates every call before a handler runs).
 */
interface CentralSystemCalls {
  RemoteStartTransaction: { connectorId?: number; idTag: string; chargingProfile?: ChargingProfile };
  RemoteStopTransaction: { transactionId: number };
  SetChargingProfile: { connectorId: number; csChargingProfiles: ChargingProfile };
  ClearChargingProfile: { id?: number; connectorId?: number; chargingProfilePurpose?: ChargingProfile['chargingProfilePurpose']; stackLevel?: number };
  ReserveNow: { connectorId: number; expiryDate: string; idTag: string; parentIdTag?: string; reservationId: number };
  CancelReservation: { reservationId: number };
  ChangeAvailability: { connectorId: number; type: 'Inoperative' | 'Operative' };
  GetConfiguration: { key?: string[] };
  ChangeConfiguration: { key: string; value: string };
  TriggerMessage: {
    requestedMessage: 'BootNotification' | 'DiagnosticsStatusNotification' | 'FirmwareStatusNotification' | 'Heartbeat' | 'MeterValues' | 'StatusNotification';
    connectorId?: number;
  };
  UnlockConnector: { connectorId: number };
  Reset: { type: 'Hard' | 'Soft' };
}

/**
 * One simulated OCPP 1.6J charge point with one connector: boots, heartbeats, reports status and
 * its parked car, follows charging profiles (the delivered power never exceeds the limit in
 * force), reports meter values, and answers the central system's calls.
 */
export class SimulatedPile {
  readonly client: RPCClient;
  status: ConnectorStatus = 'Available';
  operative = true;
  profiles: InstalledProfile[] = [];
  transaction: { id: number; idTag: string; startedAt: number; meterStartWh: number } | undefined;
  reservation: { id: number; idTag: string; expiresAt: number } | undefined;
  meterWh = 0;
  powerW = 0;
  /** Highest power delivered above the limit in force (must stay 0). */
  maxExcessW = 0;
  readonly config = new Map<string, string>([
    ['HeartbeatInterval', '300'],
    ['MeterValueSampleInterval', '60'],
    ['ChargeProfileMaxStackLevel', '8'],
    ['ChargingScheduleMaxPeriods', '96'],
    ['MaxChargingProfilesInstalled', '8'],
    ['ChargingScheduleAllowedChargingRateUnit', 'Current,Power'],
  ]);
  private timers: NodeJS.Timeout[] = [];
  private lastMeterAt = Date.now();
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: PileSpec,
    readonly options: PileOptions,
  ) {
    // ocpp-rpc's typings mark every option required; the library fills in defaults.
    const clientOptions: Partial<ConstructorParameters<typeof RPCClient>[0]> = {
      endpoint: options.url,
      identity: spec.id,
      password: spec.password,
      protocols: ['ocpp1.6'],
      strictMode: true,
      reconnect: true,
      callConcurrency: 4,
    };
    this.client = new RPCClient(clientOptions as ConstructorParameters<typeof RPCClient>[0]);
    this.meterWh = 0;
    this.registerHandlers();
  }

  private emit(event: string, detail?: unknown) {
    this.options.onEvent?.(this.spec.id, event, detail);
  }

  async call<T = unknown>(action: string, params: Record<string, unknown>): Promise<T> {
    const started = performance.now();
    const result = (await this.client.call(action, params)) as T;
    this.options.onLatency?.(action, performance.now() - started);
    return result;
  }

  async start(): Promise<void> {
    await this.client.connect();
    const boot = await this.call<{ status: string; interval: number }>('BootNotification', {
      chargePointVendor: 'evshare',
      chargePointModel: 'sim-pile',
      firmwareVersion: '1.0.0',
    });
    if (boot.status !== 'Accepted') throw new Error(`${this.spec.id}: boot ${boot.status}`);
    const heartbeatMs = this.options.heartbeatIntervalMs ?? boot.interval * 1000;
    this.config.set('HeartbeatInterval', String(Math.round(heartbeatMs / 1000)));
    await this.sendStatus(0, 'Available');
    await this.sendStatus(1, this.status);
    // Real piles are not in step: each starts its cycles at its own phase.
    const every = (periodMs: number, phase: number, task: () => Promise<unknown>) => {
      const run = () => void task().catch(() => undefined);
      this.timers.push(
        setTimeout(
          () => {
            run();
            this.timers.push(setInterval(run, periodMs));
          },
          Math.floor(phase * periodMs),
        ),
      );
    };
    every(heartbeatMs, this.spec.phase ?? 0, () => this.call('Heartbeat', {}));
    every(this.options.meterIntervalMs, ((this.spec.phase ?? 0) + 0.5) % 1, () => this.meter());
    if (this.spec.vin) await this.arrive(this.spec.vin);
  }

  async sendStatus(connectorId: number, status: ConnectorStatus, errorCode = 'NoError') {
    if (connectorId > 0) this.status = status;
    await this.call('StatusNotification', { connectorId, errorCode, status, timestamp: new Date().toISOString() });
  }

  /** A car parks and plugs in: the pile reports it, and starts charging if it has a card. */
  async arrive(vin: string) {
    const answer = await this.call<{ status: string }>('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: vin });
    this.emit('arrived', { vin, status: answer.status });
    if (this.status === 'Available') await this.sendStatus(1, 'Preparing');
    if (this.options.autoStart && this.spec.idTag) {
      const auth = await this.call<{ idTagInfo: { status: string } }>('Authorize', { idTag: this.spec.idTag });
      if (auth.idTagInfo.status === 'Accepted') await this.startTransaction(this.spec.idTag);
    }
  }

  async startTransaction(idTag: string, reservationId?: number) {
    if (this.transaction) return this.transaction;
    const startedAt = Date.now();
    const answer = await this.call<{ transactionId: number; idTagInfo: { status: string } }>('StartTransaction', {
      connectorId: 1,
      idTag,
      meterStart: Math.round(this.meterWh),
      timestamp: new Date(startedAt).toISOString(),
      ...(reservationId === undefined ? {} : { reservationId }),
    });
    if (answer.idTagInfo.status !== 'Accepted') {
      // The central system refused the tag: the pile ends the session it had to open.
      this.transaction = { id: answer.transactionId, idTag, startedAt, meterStartWh: this.meterWh };
      await this.stopTransaction('DeAuthorized');
      return undefined;
    }
    this.reservation = undefined;
    this.transaction = { id: answer.transactionId, idTag, startedAt, meterStartWh: this.meterWh };
    this.lastMeterAt = Date.now();
    await this.sendStatus(1, 'Charging');
    this.emit('started', { transactionId: answer.transactionId });
    return this.transaction;
  }

  async stopTransaction(reason = 'Local') {
    const tx = this.transaction;
    if (!tx) return undefined;
    this.accumulate();
    this.transaction = undefined;
    this.powerW = 0;
    // TxProfiles end with their transaction.
    this.profiles = this.profiles.filter((p) => p.profile.chargingProfilePurpose !== 'TxProfile');
    const meterStop = Math.round(this.meterWh);
    await this.call('StopTransaction', { transactionId: tx.id, meterStop, timestamp: new Date().toISOString(), reason, idTag: tx.idTag });
    await this.sendStatus(1, this.operative ? 'Finishing' : 'Unavailable');
    this.emit('stopped', { transactionId: tx.id, energyWh: meterStop - Math.round(tx.meterStartWh) });
    return { transactionId: tx.id, meterStop };
  }

  /** The limit in force now (undefined: none). */
  limitW(at = Date.now()) {
    return profileLimitW(this.profiles, at, {
      connectorId: 1,
      transactionId: this.transaction?.id,
      transactionStartMs: this.transaction?.startedAt,
      voltage: this.options.voltage ?? 230,
      phases: this.options.phases ?? 3,
    });
  }

  /** Energy since the last reading at the power that was allowed over it. */
  private accumulate() {
    const now = Date.now();
    const hours = ((now - this.lastMeterAt) / 3_600_000) * this.options.speed;
    this.lastMeterAt = now;
    if (!this.transaction) return;
    const wh = this.powerW * hours;
    this.meterWh += wh;
    this.spec.socPct = Math.min(100, this.spec.socPct + (wh / this.spec.batteryWh) * 100);
  }

  private refreshPower() {
    const limit = this.limitW();
    this.powerW =
      this.transaction && this.operative
        ? deliveredPowerW({ limitW: limit, pileMaxW: this.spec.maxPowerW, carMaxW: this.spec.carMaxPowerW, socPct: this.spec.socPct })
        : 0;
    if (limit !== undefined) this.maxExcessW = Math.max(this.maxExcessW, this.powerW - limit);
  }

  async meter() {
    this.accumulate();
    this.refreshPower();
    const sampledValue = [
      { value: String(Math.round(this.meterWh)), measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' },
      { value: String(this.powerW), measurand: 'Power.Active.Import', unit: 'W', context: 'Sample.Periodic' },
      ...(this.spec.vin ? [{ value: this.spec.socPct.toFixed(1), measurand: 'SoC', unit: 'Percent', context: 'Sample.Periodic' }] : []),
    ];
    await this.call('MeterValues', {
      connectorId: 1,
      ...(this.transaction ? { transactionId: this.transaction.id } : {}),
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue }],
    });
  }

  /** Answers one of the central system's actions; its params are as the action's schema says. */
  private handle<A extends keyof CentralSystemCalls>(action: A, handler: (params: CentralSystemCalls[A]) => Promise<Record<string, unknown>>) {
    this.client.handle(action, ({ params }) => handler(params as CentralSystemCalls[A]));
  }

  private registerHandlers() {
    this.handle('RemoteStartTransaction', async (params) => {
      if (this.transaction || !this.operative || (this.reservation && this.reservation.idTag !== params.idTag)) return { status: 'Rejected' };
      if (params.chargingProfile) this.profiles = installProfile(this.profiles, { connectorId: params.connectorId ?? 1, profile: params.chargingProfile });
      setImmediate(() => void this.startTransaction(params.idTag, this.reservation?.id).catch(() => undefined));
      return { status: 'Accepted' };
    });
    this.handle('RemoteStopTransaction', async (params) => {
      if (!this.transaction || this.transaction.id !== params.transactionId) return { status: 'Rejected' };
      setImmediate(() => void this.stopTransaction('Remote').catch(() => undefined));
      return { status: 'Accepted' };
    });
    this.handle('SetChargingProfile', async (params) => {
      const profile = params.csChargingProfiles;
      if (params.connectorId > 1) return { status: 'Rejected' };
      if (
        profile.chargingProfilePurpose === 'TxProfile' &&
        (!this.transaction || (profile.transactionId !== undefined && profile.transactionId !== this.transaction.id))
      )
        return { status: 'Rejected' };
      this.accumulate();
      this.profiles = installProfile(this.profiles, { connectorId: params.connectorId, profile });
      this.refreshPower();
      this.emit('profile', { purpose: profile.chargingProfilePurpose, limitW: this.limitW() });
      return { status: 'Accepted' };
    });
    this.handle('ClearChargingProfile', async (params) => {
      const { kept, removed } = clearProfiles(this.profiles, params ?? {});
      this.profiles = kept;
      return { status: removed > 0 ? 'Accepted' : 'Unknown' };
    });
    this.handle('ReserveNow', async (params) => {
      if (!this.operative) return { status: 'Unavailable' };
      if (this.status === 'Faulted') return { status: 'Faulted' };
      if (this.transaction || (this.reservation && this.reservation.id !== params.reservationId)) return { status: 'Occupied' };
      this.reservation = { id: params.reservationId, idTag: params.idTag, expiresAt: Date.parse(params.expiryDate) };
      clearTimeout(this.expiry);
      this.expiry = setTimeout(() => void this.endReservation().catch(() => undefined), Math.max(0, this.reservation.expiresAt - Date.now()));
      setImmediate(() => void this.sendStatus(1, 'Reserved').catch(() => undefined));
      this.emit('reserved', params);
      return { status: 'Accepted' };
    });
    this.handle('CancelReservation', async (params) => {
      if (!this.reservation || this.reservation.id !== params.reservationId) return { status: 'Rejected' };
      setImmediate(() => void this.endReservation().catch(() => undefined));
      this.emit('reservation-cancelled', params);
      return { status: 'Accepted' };
    });
    this.handle('ChangeAvailability', async (params) => {
      const operative = params.type === 'Operative';
      this.emit('availability', params);
      if (this.transaction && !operative) {
        this.operative = false;
        return { status: 'Scheduled' };
      }
      this.operative = operative;
      setImmediate(() => void this.sendStatus(1, operative ? (this.spec.vin ? 'Preparing' : 'Available') : 'Unavailable').catch(() => undefined));
      return { status: 'Accepted' };
    });
    this.handle('GetConfiguration', async (params) => {
      const keys: string[] | undefined = params?.key;
      const known = [...this.config]
        .filter(([key]) => !keys || keys.includes(key))
        .map(([key, value]) => ({ key, readonly: key !== 'HeartbeatInterval' && key !== 'MeterValueSampleInterval', value }));
      return { configurationKey: known, unknownKey: (keys ?? []).filter((k) => !this.config.has(k)) };
    });
    this.handle('ChangeConfiguration', async (params) => {
      if (!this.config.has(params.key)) return { status: 'NotSupported' };
      if (params.key !== 'HeartbeatInterval' && params.key !== 'MeterValueSampleInterval') return { status: 'Rejected' };
      if (!/^\d+$/.test(params.value)) return { status: 'Rejected' };
      this.config.set(params.key, params.value);
      return { status: 'Accepted' };
    });
    this.handle('TriggerMessage', async (params) => {
      const send: Record<string, () => Promise<unknown>> = {
        BootNotification: () => this.call('BootNotification', { chargePointVendor: 'evshare', chargePointModel: 'sim-pile' }),
        Heartbeat: () => this.call('Heartbeat', {}),
        StatusNotification: () => this.sendStatus(params.connectorId ?? 1, this.status),
        MeterValues: () => this.meter(),
      };
      const action = send[params.requestedMessage];
      if (!action) return { status: 'NotImplemented' };
      setImmediate(() => void action().catch(() => undefined));
      return { status: 'Accepted' };
    });
    this.handle('UnlockConnector', async () => ({ status: 'Unlocked' }));
    this.handle('Reset', async () => ({ status: 'Accepted' }));
  }

  private async endReservation() {
    clearTimeout(this.expiry);
    this.reservation = undefined;
    if (this.status === 'Reserved') await this.sendStatus(1, this.spec.vin ? 'Preparing' : 'Available');
  }

  async stop() {
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.expiry);
    await this.client.close({ code: 1000, force: false }).catch(() => undefined);
  }
}
