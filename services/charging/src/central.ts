import { RPCServer, createRPCError, type RPCError } from 'ocpp-rpc';
import type ServerClient from 'ocpp-rpc/lib/server-client';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import client from 'prom-client';
import { SUBJECTS, deductionSubject, type Bus, type DeductionMessage, type Logger, type Metrics, type PileConnected, type Pool } from '@evshare/kit';
import { verifyPilePassword } from './credentials';
import { assessSession, clampTime, type SessionAnomaly, type SessionLimits } from './bounds';
import { handshakeRefusal } from './handshake';
import { METER_MAX_WH, pileStateOf, readMeterValues } from './meter';
import type { Ocpp16Action, Ocpp16Calls, IdTagStatus } from './ocpp16';
import { createChargingRepository, type ChargingQueries } from './repository';
import type { LocalPiles } from './routing';
import { energyCostFen, type Tariff } from './tariff';

export const OCPP_PATH = '/ocpp';
export const PARKED_VEHICLE = { vendorId: 'evshare', messageId: 'ParkedVehicle' } as const;

/** Why a station's plan may be out of date. */
export type ChangeReason = 'arrival' | 'departure' | 'fault' | 'connected' | 'disconnected' | 'transaction' | 'booking';

export interface CentralSystemOptions {
  db: Pool;
  bus: Bus;
  log: Logger;
  metrics: Metrics;
  instanceId: string;
  tariff: Tariff;
  heartbeatIntervalS: number;
  pingIntervalMs: number;
  callTimeoutMs: number;
  /** Largest WebSocket frame accepted from a pile (ws closes the connection with 1009 above). */
  maxFrameBytes: number;
  /** Connector ids 1..maxConnectors are a pile's. */
  maxConnectors: number;
  /** What a pile's meter and clock are trusted for (docs/charging.md, "What a pile can bill"). */
  limits: SessionLimits;
  /** A station's plan may need redoing. */
  onChange(stationId: string, reason: ChangeReason): void;
  /** A pile booted: smart charging resends its profile, an operator-disabled pile is made inoperative again. */
  onBoot(pileId: string): void;
}

export interface CentralSystem extends LocalPiles {
  handleUpgrade(request: IncomingMessage, socket: Socket, head: Buffer): void;
  connected(): number;
  /** Republishes deductions of completed sessions whose publication did not finish. */
  sweepUnbilled(): Promise<number>;
  close(): Promise<void>;
}

interface PileSession {
  pileId: string;
  stationId: string;
  connectedAt: Date;
}

/** ocpp-rpc types createRPCError's result as a plain record; it is the RPCError subclass the type names. */
const rpcError = (type: string, message: string) => createRPCError(type, message) as RPCError;

/** A schema-valid value the central system cannot accept: PropertyConstraintViolation, nothing changed. */
const requireRange = (value: number, min: number, max: number, field: string) => {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw rpcError('PropertyConstraintViolation', `${field} must be an integer from ${min} to ${max}`);
};
/** OCPP ids the central system hands out are PostgreSQL integers. */
const INT_MAX = 2 ** 31 - 1;
const isDbInt = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= INT_MAX;

const idTagStatus = async (repo: ChargingQueries, idTag: string, pileId: string): Promise<{ status: IdTagStatus; memberId: string | null }> => {
  const card = await repo.cardOf(idTag.toUpperCase());
  if (card?.memberId) return { status: card.status === 'active' ? 'Accepted' : 'Blocked', memberId: card.memberId };
  // A reservation made without a card gets a token of its own, good at its pile only.
  const holder = await repo.reservationTokenHolder(idTag, pileId);
  if (holder !== undefined) return { status: 'Accepted', memberId: holder };
  return { status: 'Invalid', memberId: null };
};

/**
 * The OCPP 1.6J central system: piles connect over WebSocket to /ocpp/<chargePointId> with the
 * ocpp1.6 subprotocol and HTTP Basic credentials (security profile 1; profile 2 adds TLS at the
 * ingress). ocpp-rpc in strict mode validates every frame against the OCPP 1.6 JSON schemas and
 * answers malformed ones with the protocol's CALLERROR; the connection stays open.
 */
export function createCentralSystem(options: CentralSystemOptions): CentralSystem {
  const { bus, log, metrics, instanceId, tariff } = options;
  const repo = createChargingRepository(options.db);
  const sockets = new Map<string, ServerClient>();
  const histogram = new client.Histogram({
    name: 'ocpp_call_duration_seconds',
    help: 'Time the central system took to answer a pile, by action',
    labelNames: ['action'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  });
  const rejectedHandshakes = new client.Counter({
    name: 'ocpp_handshakes_rejected_total',
    help: 'WebSocket handshakes refused',
    labelNames: ['reason'],
    registers: [metrics.registry],
  });
  const badFrames = new client.Counter({
    name: 'ocpp_bad_messages_total',
    help: 'Frames that were not valid OCPP-J (answered with a CALLERROR)',
    registers: [metrics.registry],
  });
  const validationFailures = new client.Counter({
    name: 'ocpp_validation_failures_total',
    help: 'Calls or answers refused by the OCPP 1.6 schemas',
    registers: [metrics.registry],
  });
  const deductions = new client.Counter({
    name: 'charging_deductions_published_total',
    help: 'Charging sessions sent to billing',
    registers: [metrics.registry],
  });
  const anomaliesSeen = new client.Counter({
    name: 'ocpp_anomalies_total',
    help: "Pile reports not billed as sent: another pile's transaction, energy above the rating, meter backwards, clock skew",
    labelNames: ['kind'],
    registers: [metrics.registry],
  });
  const { limits } = options;
  const anomaly = (pileId: string, kind: string, details: Record<string, unknown>) => {
    anomaliesSeen.inc({ kind });
    log.warn({ pileId, anomaly: kind, ...details }, 'pile report not trusted');
  };
  new client.Gauge({
    name: 'ocpp_connected_piles',
    help: 'Piles connected to this instance',
    registers: [metrics.registry],
    collect() {
      this.set(sockets.size);
    },
  });

  const server = new RPCServer({
    protocols: ['ocpp1.6'],
    strictMode: true,
    callTimeoutMs: options.callTimeoutMs,
    pingIntervalMs: options.pingIntervalMs,
    deferPingsOnActivity: true,
    // ws's default is 100 MiB; a pile's legitimate messages are a few KiB.
    wssOptions: { maxPayload: options.maxFrameBytes },
  });

  server.auth((accept, reject, handshake) => {
    void (async () => {
      if (handshake.endpoint.replace(/\/+$/, '') !== OCPP_PATH) {
        rejectedHandshakes.inc({ reason: 'path' });
        return reject(404, 'Not found');
      }
      if (!handshake.protocols.has('ocpp1.6')) {
        rejectedHandshakes.inc({ reason: 'subprotocol' });
        return reject(400, 'The ocpp1.6 subprotocol is required');
      }
      const pile = await repo.pileCredentials(handshake.identity);
      if (!(await verifyPilePassword(pile?.passwordHash, handshake.password)) || !pile) {
        rejectedHandshakes.inc({ reason: pile ? 'password' : 'unknown' });
        log.info({ pileId: handshake.identity, address: handshake.remoteAddress }, 'pile refused at the handshake');
        return reject(401, 'Unknown charge point or wrong password');
      }
      accept({ pileId: handshake.identity, stationId: pile.stationId, connectedAt: new Date() } satisfies PileSession);
    })().catch((error: unknown) => {
      log.error({ err: error }, 'pile authentication failed');
      reject(503, 'Try again later');
    });
  });

  /** A handler of one action, timed; ocpp-rpc validated its params against the action's schema. */
  type Handler<A extends Ocpp16Action> = (params: Ocpp16Calls[A]['request']) => Promise<Ocpp16Calls[A]['response']>;
  const handle = <A extends Ocpp16Action>(rpc: ServerClient, action: A, handler: Handler<A>) =>
    rpc.handle(action, async ({ params }) => {
      const end = histogram.startTimer({ action });
      try {
        return await handler(params as Ocpp16Calls[A]['request']);
      } finally {
        end();
      }
    });

  // last_seen_at is for operators: a write per pile every half minute is enough.
  const lastTouch = new Map<string, number>();
  const touch = async (pileId: string) => {
    const now = Date.now();
    if (now - (lastTouch.get(pileId) ?? 0) < 30_000) return;
    lastTouch.set(pileId, now);
    await repo.touchPile(pileId);
  };

  const publishDeduction = async (row: { id: number; pileId: string; memberId: string; amountFen: number; energyWh: number; stoppedAt: Date }) => {
    const message: DeductionMessage = {
      reference: chargingReference(row.pileId, row.id),
      memberId: row.memberId,
      kind: 'charging',
      amountFen: row.amountFen,
      description: `Charging ${(row.energyWh / 1000).toFixed(2)} kWh at pile ${row.pileId}`,
      requestedBy: `charging:${instanceId}`,
      at: row.stoppedAt.toISOString(),
    };
    // The reference is the stream's msgId and the ledger's unique key: billed once however often sent.
    await bus.publishDurable(deductionSubject('charging'), message, message.reference);
    await repo.markBilled(row.id);
    deductions.inc();
  };

  /**
   * Completes a transaction of this pile (idempotent); returns undefined for a transaction that is
   * not the pile's. The energy is billed only inside the session's bounds (bounds.ts); otherwise
   * the session is completed unbilled, its anomalies recorded, and an operator review item made.
   */
  const completeTransaction = async (
    tx: ChargingQueries,
    pileId: string,
    transactionId: number,
    meterStopWh: number,
    reportedStopMs: number,
    reason: string,
    extraSamplesWh: number[] = [],
  ) => {
    const row = await tx.transactionForCompletion(transactionId, pileId);
    if (!row) return undefined;
    if (row.status === 'completed') return { ...row, fresh: false };
    const samplesWh = await tx.energySamplesWh(pileId, transactionId);
    const { meterStartWh } = row;
    const assessed = assessSession(
      {
        ratedW: row.ratedW,
        meterStartWh,
        meterStopWh,
        samplesWh: [...samplesWh, ...extraSamplesWh],
        startReceivedMs: row.receivedAt.getTime(),
        stopReceivedMs: Date.now(),
        startMs: row.startedAt.getTime(),
        startSkewed: row.anomalies?.includes('clock-skew') ?? false,
        reportedStopMs,
      },
      limits,
    );
    const held = assessed.anomalies.length > 0;
    const amountFen = row.memberId ? energyCostFen(tariff, assessed.startMs, assessed.stopMs, assessed.energyWh) : 0;
    // Held: no price until an operator decides (a session nobody is billed for keeps its 0).
    await tx.completeTransaction({
      id: transactionId,
      meterStopWh,
      stoppedAt: new Date(assessed.stopMs),
      reason,
      energyWh: assessed.energyWh,
      amountFen: held && row.memberId ? null : amountFen,
      anomalies: held ? assessed.anomalies : null,
    });
    if (row.reservationId) await tx.completeReservation(row.reservationId);
    if (held) {
      for (const kind of assessed.anomalies) anomaly(pileId, kind, { transactionId, energyWh: assessed.energyWh, boundWh: assessed.boundWh });
      // Nothing to decide for a session that delivered nothing or is nobody's.
      if (row.memberId && assessed.energyWh > 0) await holdForReview(tx, { ...row, meterStartWh, meterStopWh, assessed, amountFen, reportedStopMs });
    }
    return { ...row, fresh: true };
  };

  const holdForReview = async (
    tx: ChargingQueries,
    session: {
      id: number;
      pileId: string;
      memberId: string | null;
      meterStartWh: number;
      meterStopWh: number;
      amountFen: number;
      reportedStopMs: number;
      receivedAt: Date;
      ratedW: number;
      assessed: ReturnType<typeof assessSession>;
    },
  ) => {
    const { assessed } = session;
    const boundedFen = energyCostFen(tariff, assessed.startMs, assessed.stopMs, Math.min(assessed.energyWh, assessed.boundWh));
    await tx.insertChargeReview({
      reference: chargingReference(session.pileId, session.id),
      pileId: session.pileId,
      memberId: session.memberId,
      reported: {
        transactionId: session.id,
        meterStartWh: session.meterStartWh,
        meterStopWh: session.meterStopWh,
        energyWh: assessed.energyWh,
        startedAt: new Date(assessed.startMs).toISOString(),
        stoppedAt: Number.isFinite(session.reportedStopMs) ? new Date(session.reportedStopMs).toISOString() : null,
      },
      bound: {
        ratedW: session.ratedW,
        elapsedMs: Date.now() - session.receivedAt.getTime(),
        margin: limits.energyMargin,
        maxEnergyWh: assessed.boundWh,
        clockToleranceMs: limits.clockToleranceMs,
      },
      reasons: assessed.anomalies satisfies SessionAnomaly[],
      reportedFen: session.amountFen,
      boundedFen,
    });
  };

  const billIfDue = async (transactionId: number) => {
    const row = await repo.billableTransaction(transactionId);
    if (row) await publishDeduction(row);
  };

  const attach = (rpc: ServerClient) => {
    const session = rpc.session as unknown as PileSession;
    const { pileId, stationId } = session;
    const previous = sockets.get(pileId);
    sockets.set(pileId, rpc);
    if (previous) void previous.close({ code: 1000, reason: 'Replaced by a new connection' }).catch(() => undefined);

    rpc.on('badMessage', () => badFrames.inc());
    rpc.on('strictValidationFailure', (event: { method: string; outbound: boolean; error: Error }) => {
      validationFailures.inc();
      log.info({ pileId, method: event.method, outbound: event.outbound, err: event.error.message }, 'OCPP schema validation failed');
    });
    rpc.on('close', () => {
      if (sockets.get(pileId) === rpc) {
        sockets.delete(pileId);
        lastTouch.delete(pileId);
      }
      // Only if no newer connection (here or on another instance) took the pile over.
      repo.markOffline(pileId, instanceId, session.connectedAt).then(
        (marked) => {
          if (marked) options.onChange(stationId, 'disconnected');
        },
        (error: unknown) => log.warn({ err: error, pileId }, 'marking pile offline failed'),
      );
    });

    handle(rpc, 'BootNotification', async (params) => {
      await repo.recordBoot(pileId, { vendor: params.chargePointVendor, model: params.chargePointModel, firmware: params.firmwareVersion ?? null });
      setImmediate(() => options.onBoot(pileId));
      return { status: 'Accepted', currentTime: new Date().toISOString(), interval: options.heartbeatIntervalS };
    });

    handle(rpc, 'Heartbeat', async () => {
      await touch(pileId);
      return { currentTime: new Date().toISOString() };
    });

    handle(rpc, 'StatusNotification', async (params) => {
      requireRange(params.connectorId, 0, options.maxConnectors, 'connectorId');
      const { status } = params;
      await repo.setConnectorStatus(pileId, params.connectorId, status);
      // Connector 0 is the whole pile: it speaks for the pile when it is out of order or back.
      const applies = params.connectorId > 0 || status === 'Unavailable' || status === 'Faulted' || status === 'Available';
      if (applies) {
        const state = pileStateOf(status);
        const before = await repo.setPileState(pileId, state, status, params.errorCode);
        if (state === 'faulted' && before !== 'faulted') options.onChange(stationId, 'fault');
        else if (before === 'faulted' && state !== 'faulted') options.onChange(stationId, 'fault');
      }
      return {};
    });

    handle(rpc, 'Authorize', async (params) => {
      const { status } = await idTagStatus(repo, params.idTag, pileId);
      return { idTagInfo: { status } };
    });

    handle(rpc, 'StartTransaction', async (params) => {
      requireRange(params.connectorId, 1, options.maxConnectors, 'connectorId');
      requireRange(params.meterStart, 0, METER_MAX_WH, 'meterStart');
      const receivedMs = Date.now();
      // The pile's clock is trusted within the tolerance; beyond, the session starts when received.
      const start = clampTime(Date.parse(params.timestamp), receivedMs, limits.clockToleranceMs);
      if (start.skewed) anomaly(pileId, 'clock-skew', { action: 'StartTransaction', timestamp: params.timestamp });
      const startedAt = new Date(start.ms);
      const result = await repo.transaction(async (tx) => {
        await tx.lockPile(pileId);
        const { status, memberId } = await idTagStatus(tx, params.idTag, pileId);
        const open = await tx.openTransaction(pileId, params.connectorId);
        // A pile repeating StartTransaction after a lost answer gets the same transaction (a
        // clamped start time differs between the two: the meter start must match then).
        const sameStart =
          open &&
          (open.startedAt.getTime() === startedAt.getTime() ||
            (start.skewed && open.anomalies?.includes('clock-skew') && open.meterStartWh === params.meterStart));
        if (open && open.idTag === params.idTag && sameStart) return { id: open.id, status, stale: undefined };
        // Otherwise the pile has forgotten an open session: it ends where the new one starts.
        const stale = open ? await completeTransaction(tx, pileId, open.id, Math.max(open.meterStartWh, params.meterStart), start.ms, 'Superseded') : undefined;
        const reservationId = isDbInt(params.reservationId) ? await tx.claimReservation(params.reservationId, pileId) : null;
        const id = await tx.insertTransaction({
          pileId,
          connectorId: params.connectorId,
          idTag: params.idTag,
          memberId: status === 'Accepted' ? memberId : null,
          reservationId,
          meterStartWh: params.meterStart,
          startedAt,
          receivedAt: new Date(receivedMs),
          anomalies: start.skewed ? ['clock-skew'] : null,
        });
        return { id, status, stale };
      });
      if (result.stale) await billIfDue(result.stale.id);
      options.onChange(stationId, 'transaction');
      return { transactionId: result.id, idTagInfo: { status: result.status } };
    });

    handle(rpc, 'StopTransaction', async (params) => {
      requireRange(params.meterStop, 0, METER_MAX_WH, 'meterStop');
      const clock = { nowMs: Date.now(), toleranceMs: limits.clockToleranceMs };
      const readings = params.transactionData ? readMeterValues(params.transactionData, clock) : [];
      const { transactionId } = params;
      // A transaction is its pile's: another pile's id (ids are sequential) is refused and nothing billed.
      const done = isDbInt(transactionId)
        ? await repo.transaction(async (tx) => {
            const energy = readings.flatMap((reading) => (reading.energyWh === undefined ? [] : [reading.energyWh]));
            const completed = await completeTransaction(
              tx,
              pileId,
              transactionId,
              params.meterStop,
              Date.parse(params.timestamp),
              params.reason ?? 'Local',
              energy,
            );
            if (completed?.fresh) for (const reading of readings) await tx.insertSample(pileId, 0, transactionId, reading);
            return completed;
          })
        : undefined;
      // Unknown or not this pile's: acknowledged (the pile must be able to clear its queue) as Invalid.
      if (!done) {
        anomaly(pileId, 'foreign-transaction', { action: 'StopTransaction', transactionId, meterStop: params.meterStop });
        return { idTagInfo: { status: 'Invalid' } };
      }
      await billIfDue(transactionId);
      if (done.fresh) options.onChange(stationId, 'transaction');
      return params.idTag ? { idTagInfo: { status: (await idTagStatus(repo, params.idTag, pileId)).status } } : {};
    });

    handle(rpc, 'MeterValues', async (params) => {
      requireRange(params.connectorId, 0, options.maxConnectors, 'connectorId');
      const readings = readMeterValues(params.meterValue, { nowMs: Date.now(), toleranceMs: limits.clockToleranceMs }).filter(
        (r) => r.energyWh !== undefined || r.powerW !== undefined || r.socPct !== undefined,
      );
      if (readings.length === 0) return {};
      // Samples count towards a transaction only if it is this pile's open one on that connector.
      let transactionId: number | null = null;
      if (params.transactionId !== undefined) {
        if (isDbInt(params.transactionId) && (await repo.isOpenTransactionOf(params.transactionId, pileId, params.connectorId)))
          transactionId = params.transactionId;
        else anomaly(pileId, 'foreign-transaction', { action: 'MeterValues', transactionId: params.transactionId });
      }
      await repo.recordMeterValues(pileId, params.connectorId, transactionId, readings);
      return {};
    });

    handle(rpc, 'DataTransfer', async (params) => {
      if (params.vendorId !== PARKED_VEHICLE.vendorId) return { status: 'UnknownVendorId' };
      if (params.messageId !== PARKED_VEHICLE.messageId) return { status: 'UnknownMessageId' };
      const vin = (params.data ?? '').trim().toUpperCase();
      if (vin === '') {
        if (await repo.unbindVehicle(pileId)) options.onChange(stationId, 'departure');
        return { status: 'Accepted' };
      }
      const bound = await repo.transaction((tx) => tx.bindVehicle(pileId, vin));
      if (!bound) return { status: 'Rejected', data: 'unknown VIN' };
      options.onChange(stationId, 'arrival');
      return { status: 'Accepted' };
    });

    // Notifications the platform has no use for yet are acknowledged, as OCPP requires.
    handle(rpc, 'FirmwareStatusNotification', async () => ({}));
    handle(rpc, 'DiagnosticsStatusNotification', async () => ({}));
  };

  server.on('client', (rpc: ServerClient) => {
    const session = rpc.session as unknown as PileSession;
    attach(rpc);
    repo.recordConnection(session.pileId, instanceId, session.connectedAt).then(
      () => {
        // Closed before the row was written: the close handler found nothing to mark offline.
        if (sockets.get(session.pileId) !== rpc) {
          void repo.markOffline(session.pileId, instanceId, session.connectedAt).catch(() => undefined);
          return;
        }
        options.onChange(session.stationId, 'connected');
        // After the row names this instance, so a caller routed by it finds us.
        bus.publish(SUBJECTS.pileConnected(session.pileId), { instanceId } satisfies PileConnected);
      },
      (error: unknown) => log.warn({ err: error, pileId: session.pileId }, 'recording the connection failed'),
    );
  });
  server.on('upgradeAborted', (event: { identity?: string; error?: Error }) =>
    log.debug({ pileId: event.identity, err: event.error?.message }, 'upgrade aborted'),
  );

  return {
    handleUpgrade(request, socket, head) {
      const protocols = request.headers['sec-websocket-protocol'];
      const refusal = handshakeRefusal(request.url, Array.isArray(protocols) ? protocols.join(',') : protocols, OCPP_PATH);
      if (refusal) {
        rejectedHandshakes.inc({ reason: refusal.status === 400 ? 'identity' : 'path' });
        refuseUpgrade(socket, refusal.status, refusal.message);
        return;
      }
      server.handleUpgrade(request, socket, head).catch((error: unknown) => {
        log.warn({ err: error }, 'pile upgrade failed');
        refuseUpgrade(socket, 400, 'Bad request');
      });
    },
    has: (pileId) => sockets.has(pileId),
    connected: () => sockets.size,
    async call(pileId, method, params, timeoutMs) {
      const rpc = sockets.get(pileId);
      if (!rpc) throw rpcError('GenericError', `pile ${pileId} is not connected here`);
      return rpc.call(method, params, { callTimeoutMs: timeoutMs });
    },
    drop(pileId) {
      const rpc = sockets.get(pileId);
      sockets.delete(pileId);
      void rpc?.close({ code: 1000, reason: 'Connected elsewhere' }).catch(() => undefined);
    },
    async sweepUnbilled() {
      const ids = await repo.unbilledTransactionIds(100);
      for (const id of ids) await billIfDue(id);
      return ids.length;
    },
    async close() {
      await server.close({ code: 1001, reason: 'Central system shutting down' });
    },
  };
}

/** The deduction reference (and stream message id) of a charging session. */
export const chargingReference = (pileId: string, transactionId: number) => `charging:${pileId}:${transactionId}`;

function refuseUpgrade(socket: Socket, status: number, message: string): void {
  socket.on('error', () => undefined);
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
    );
  socket.destroySoon();
}
