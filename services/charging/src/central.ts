import { RPCServer, createRPCError } from 'ocpp-rpc';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import client from 'prom-client';
import { deductionSubject, withTransaction, type Bus, type DeductionMessage, type Logger, type Metrics, type Pool, type PoolClient } from '@evshare/kit';
import { verifyPilePassword } from './credentials';
import { assessSession, clampTime, type SessionAnomaly, type SessionLimits } from './bounds';
import { handshakeRefusal } from './handshake';
import { METER_MAX_WH, pileStateOf, readMeterValues } from './meter';
import { pileConnectedSubject, type LocalPiles } from './routing';
import { energyCostFen, type Tariff } from './tariff';

type ServerClient = Parameters<Parameters<RPCServer['on']>[1]>[0] & {
  identity: string;
  session: Record<string, unknown>;
  handle(method: string, handler: (call: { params: Record<string, any> }) => Promise<Record<string, unknown>>): void;
  call(method: string, params?: unknown, options?: Record<string, unknown>): Promise<unknown>;
  close(options?: Record<string, unknown>): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
};

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

/** A schema-valid value the central system cannot accept: PropertyConstraintViolation, nothing changed. */
const requireRange = (value: number, min: number, max: number, field: string) => {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw createRPCError('PropertyConstraintViolation', `${field} must be an integer from ${min} to ${max}`);
};
/** OCPP ids the central system hands out are PostgreSQL integers. */
const INT_MAX = 2 ** 31 - 1;
const isDbInt = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= INT_MAX;

const idTagStatus = async (db: Pool | PoolClient, idTag: string, pileId: string): Promise<{ status: 'Accepted' | 'Blocked' | 'Invalid'; memberId: string | null }> => {
  const { rows } = await db.query<{ memberId: string | null; status: string | null }>(
    `SELECT c.member_id AS "memberId", m.status FROM membership_cards c LEFT JOIN members m ON m.id = c.member_id WHERE c.uid = $1`,
    [idTag.toUpperCase()],
  );
  const card = rows[0];
  if (card?.memberId) {
    if (card.status === 'active') return { status: 'Accepted', memberId: card.memberId };
    return { status: 'Blocked', memberId: card.memberId };
  }
  // A reservation made without a card gets a token of its own, good at its pile only.
  const reserved = await db.query<{ memberId: string | null }>(
    `SELECT member_id AS "memberId" FROM charging_reservations WHERE id_tag = $1 AND pile_id = $2 AND status IN ('reserved', 'charging')`,
    [idTag, pileId],
  );
  if (reserved.rows[0]) return { status: 'Accepted', memberId: reserved.rows[0].memberId };
  return { status: 'Invalid', memberId: null };
};

/**
 * The OCPP 1.6J central system: piles connect over WebSocket to /ocpp/<chargePointId> with the
 * ocpp1.6 subprotocol and HTTP Basic credentials (security profile 1; profile 2 adds TLS at the
 * ingress). ocpp-rpc in strict mode validates every frame against the OCPP 1.6 JSON schemas and
 * answers malformed ones with the protocol's CALLERROR; the connection stays open.
 */
export function createCentralSystem(options: CentralSystemOptions): CentralSystem {
  const { db, bus, log, metrics, instanceId, tariff } = options;
  const sockets = new Map<string, ServerClient>();
  const histogram = new client.Histogram({
    name: 'ocpp_call_duration_seconds',
    help: 'Time the central system took to answer a pile, by action',
    labelNames: ['action'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  });
  const rejectedHandshakes = new client.Counter({ name: 'ocpp_handshakes_rejected_total', help: 'WebSocket handshakes refused', labelNames: ['reason'], registers: [metrics.registry] });
  const badFrames = new client.Counter({ name: 'ocpp_bad_messages_total', help: 'Frames that were not valid OCPP-J (answered with a CALLERROR)', registers: [metrics.registry] });
  const validationFailures = new client.Counter({ name: 'ocpp_validation_failures_total', help: 'Calls or answers refused by the OCPP 1.6 schemas', registers: [metrics.registry] });
  const deductions = new client.Counter({ name: 'charging_deductions_published_total', help: 'Charging sessions sent to billing', registers: [metrics.registry] });
  const anomaliesSeen = new client.Counter({
    name: 'ocpp_anomalies_total',
    help: 'Pile reports not billed as sent: another pile\'s transaction, energy above the rating, meter backwards, clock skew',
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
      const { rows } = await db.query<{ stationId: string; passwordHash: string }>(
        'SELECT station_id AS "stationId", password_hash AS "passwordHash" FROM piles WHERE id = $1',
        [handshake.identity],
      );
      const pile = rows[0];
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

  const timed = <T>(action: string, handler: (params: any, session: PileSession) => Promise<T>, session: PileSession) => async ({ params }: { params: Record<string, any> }) => {
    const end = histogram.startTimer({ action });
    try {
      return (await handler(params, session)) as Record<string, unknown>;
    } finally {
      end();
    }
  };

  // last_seen_at is for operators: a write per pile every half minute is enough.
  const lastTouch = new Map<string, number>();
  const touch = async (pileId: string) => {
    const now = Date.now();
    if (now - (lastTouch.get(pileId) ?? 0) < 30_000) return;
    lastTouch.set(pileId, now);
    await db.query('UPDATE piles SET last_seen_at = now() WHERE id = $1', [pileId]);
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
    await db.query('UPDATE charging_transactions SET billed_at = now() WHERE id = $1', [row.id]);
    deductions.inc();
  };

  /**
   * Completes a transaction of this pile (idempotent); returns undefined for a transaction that is
   * not the pile's. The energy is billed only inside the session's bounds (bounds.ts); otherwise
   * the session is completed unbilled, its anomalies recorded, and an operator review item made.
   */
  const completeTransaction = async (tx: PoolClient | Pool, pileId: string, transactionId: number, meterStopWh: number, reportedStopMs: number, reason: string, extraSamplesWh: number[] = []) => {
    const { rows } = await tx.query<{ id: number; pileId: string; memberId: string | null; meterStartWh: string; startedAt: Date; receivedAt: Date; status: string; reservationId: string | null; anomalies: string[] | null; ratedW: number }>(
      `SELECT t.id, t.pile_id AS "pileId", t.member_id AS "memberId", t.meter_start_wh AS "meterStartWh", t.started_at AS "startedAt", t.created_at AS "receivedAt",
              t.status, t.reservation_id AS "reservationId", t.anomalies, p.max_power_w AS "ratedW"
       FROM charging_transactions t JOIN piles p ON p.id = t.pile_id WHERE t.id = $1 AND t.pile_id = $2 FOR UPDATE OF t`,
      [transactionId, pileId],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.status === 'completed') return { ...row, fresh: false };
    const { rows: samples } = await tx.query<{ energyWh: string }>(
      'SELECT energy_wh AS "energyWh" FROM meter_samples WHERE pile_id = $1 AND transaction_id = $2 AND energy_wh IS NOT NULL ORDER BY id',
      [pileId, transactionId],
    );
    const meterStartWh = Number(row.meterStartWh);
    const assessed = assessSession(
      {
        ratedW: row.ratedW,
        meterStartWh,
        meterStopWh,
        samplesWh: [...samples.map((sample) => Number(sample.energyWh)), ...extraSamplesWh],
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
    await tx.query(
      `UPDATE charging_transactions SET status = 'completed', meter_stop_wh = $2, stopped_at = $3, stop_reason = $4, energy_wh = $5, amount_fen = $6, anomalies = $7 WHERE id = $1`,
      [transactionId, meterStopWh, new Date(assessed.stopMs), reason, assessed.energyWh, held && row.memberId ? null : amountFen, held ? assessed.anomalies : null],
    );
    if (row.reservationId) await tx.query(`UPDATE charging_reservations SET status = 'completed', ended_at = now() WHERE id = $1 AND status IN ('reserved', 'charging')`, [row.reservationId]);
    if (held) {
      for (const kind of assessed.anomalies) anomaly(pileId, kind, { transactionId, energyWh: assessed.energyWh, boundWh: assessed.boundWh });
      // Nothing to decide for a session that delivered nothing or is nobody's.
      if (row.memberId && assessed.energyWh > 0) await holdForReview(tx, { ...row, meterStartWh, meterStopWh, assessed, amountFen, reportedStopMs });
    }
    return { ...row, fresh: true };
  };

  const holdForReview = async (
    tx: PoolClient | Pool,
    session: { id: number; pileId: string; memberId: string | null; meterStartWh: number; meterStopWh: number; amountFen: number; reportedStopMs: number; receivedAt: Date; ratedW: number; assessed: ReturnType<typeof assessSession> },
  ) => {
    const { assessed } = session;
    const boundedFen = energyCostFen(tariff, assessed.startMs, assessed.stopMs, Math.min(assessed.energyWh, assessed.boundWh));
    await tx.query(
      `INSERT INTO device_charge_reviews (kind, reference, device, member_id, reported, bound, reasons, reported_fen, bounded_fen)
       VALUES ('charging', $1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reference) DO NOTHING`,
      [
        chargingReference(session.pileId, session.id),
        session.pileId,
        session.memberId,
        JSON.stringify({
          transactionId: session.id,
          meterStartWh: session.meterStartWh,
          meterStopWh: session.meterStopWh,
          energyWh: assessed.energyWh,
          startedAt: new Date(assessed.startMs).toISOString(),
          stoppedAt: Number.isFinite(session.reportedStopMs) ? new Date(session.reportedStopMs).toISOString() : null,
        }),
        JSON.stringify({ ratedW: session.ratedW, elapsedMs: Date.now() - session.receivedAt.getTime(), margin: limits.energyMargin, maxEnergyWh: assessed.boundWh, clockToleranceMs: limits.clockToleranceMs }),
        assessed.anomalies satisfies SessionAnomaly[],
        session.amountFen,
        boundedFen,
      ],
    );
  };

  const billIfDue = async (transactionId: number) => {
    const { rows } = await db.query<{ id: number; pileId: string; memberId: string; amountFen: string; energyWh: string; stoppedAt: Date }>(
      `SELECT id, pile_id AS "pileId", member_id AS "memberId", amount_fen AS "amountFen", energy_wh AS "energyWh", stopped_at AS "stoppedAt"
       FROM charging_transactions WHERE id = $1 AND status = 'completed' AND member_id IS NOT NULL AND billed_at IS NULL AND anomalies IS NULL`,
      [transactionId],
    );
    const row = rows[0];
    if (row) await publishDeduction({ ...row, amountFen: Number(row.amountFen), energyWh: Number(row.energyWh) });
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
      db.query(
        `UPDATE piles SET state = 'offline', instance_id = NULL, updated_at = now() WHERE id = $1 AND instance_id = $2 AND connected_at = $3`,
        [pileId, instanceId, session.connectedAt],
      ).then(
        (result) => {
          if (result.rowCount) options.onChange(stationId, 'disconnected');
        },
        (error: unknown) => log.warn({ err: error, pileId }, 'marking pile offline failed'),
      );
    });

    rpc.handle('BootNotification', timed('BootNotification', async (params) => {
      await db.query(
        `UPDATE piles SET vendor = $2, model = $3, firmware = $4, last_seen_at = now(), updated_at = now() WHERE id = $1`,
        [pileId, params.chargePointVendor, params.chargePointModel, params.firmwareVersion ?? null],
      );
      setImmediate(() => options.onBoot(pileId));
      return { status: 'Accepted', currentTime: new Date().toISOString(), interval: options.heartbeatIntervalS };
    }, session));

    rpc.handle('Heartbeat', timed('Heartbeat', async () => {
      await touch(pileId);
      return { currentTime: new Date().toISOString() };
    }, session));

    rpc.handle('StatusNotification', timed('StatusNotification', async (params) => {
      requireRange(params.connectorId, 0, options.maxConnectors, 'connectorId');
      const status = params.status as string;
      await db.query(
        `INSERT INTO pile_connectors (pile_id, connector_id, ocpp_status, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (pile_id, connector_id) DO UPDATE SET ocpp_status = EXCLUDED.ocpp_status, updated_at = now()`,
        [pileId, params.connectorId, status],
      );
      // Connector 0 is the whole pile: it speaks for the pile when it is out of order or back.
      const applies = params.connectorId > 0 || status === 'Unavailable' || status === 'Faulted' || status === 'Available';
      if (applies) {
        const state = pileStateOf(status);
        const { rows } = await db.query<{ before: string }>(
          `UPDATE piles p SET state = $2, ocpp_status = $3, error_code = $4, last_seen_at = now(), updated_at = now()
           FROM (SELECT state AS before FROM piles WHERE id = $1) old WHERE p.id = $1 RETURNING old.before`,
          [pileId, state, status, params.errorCode],
        );
        const before = rows[0]?.before;
        if (state === 'faulted' && before !== 'faulted') options.onChange(stationId, 'fault');
        else if (before === 'faulted' && state !== 'faulted') options.onChange(stationId, 'fault');
      }
      return {};
    }, session));

    rpc.handle('Authorize', timed('Authorize', async (params) => {
      const { status } = await idTagStatus(db, params.idTag, pileId);
      return { idTagInfo: { status } };
    }, session));

    rpc.handle('StartTransaction', timed('StartTransaction', async (params) => {
      requireRange(params.connectorId, 1, options.maxConnectors, 'connectorId');
      requireRange(params.meterStart, 0, METER_MAX_WH, 'meterStart');
      const receivedMs = Date.now();
      // The pile's clock is trusted within the tolerance; beyond, the session starts when received.
      const start = clampTime(Date.parse(params.timestamp), receivedMs, limits.clockToleranceMs);
      if (start.skewed) anomaly(pileId, 'clock-skew', { action: 'StartTransaction', timestamp: params.timestamp });
      const startedAt = new Date(start.ms);
      const result = await withTransaction(db, async (tx) => {
        await tx.query('SELECT 1 FROM piles WHERE id = $1 FOR UPDATE', [pileId]);
        const { status, memberId } = await idTagStatus(tx, params.idTag, pileId);
        const active = await tx.query<{ id: number; idTag: string; startedAt: Date; meterStartWh: string; anomalies: string[] | null }>(
          `SELECT id, id_tag AS "idTag", started_at AS "startedAt", meter_start_wh AS "meterStartWh", anomalies FROM charging_transactions
           WHERE pile_id = $1 AND connector_id = $2 AND status = 'active'`,
          [pileId, params.connectorId],
        );
        const open = active.rows[0];
        // A pile repeating StartTransaction after a lost answer gets the same transaction (a
        // clamped start time differs between the two: the meter start must match then).
        const sameStart = open && (open.startedAt.getTime() === startedAt.getTime() || (start.skewed && open.anomalies?.includes('clock-skew') && Number(open.meterStartWh) === params.meterStart));
        if (open && open.idTag === params.idTag && sameStart) return { id: open.id, status, stale: undefined };
        // Otherwise the pile has forgotten an open session: it ends where the new one starts.
        const stale = open ? await completeTransaction(tx, pileId, open.id, Math.max(Number(open.meterStartWh), params.meterStart), start.ms, 'Superseded') : undefined;
        let reservationId: string | null = null;
        if (isDbInt(params.reservationId)) {
          const reservation = await tx.query<{ id: string }>(
            `UPDATE charging_reservations SET status = 'charging' WHERE ocpp_id = $1 AND pile_id = $2 AND status = 'reserved' RETURNING id`,
            [params.reservationId, pileId],
          );
          reservationId = reservation.rows[0]?.id ?? null;
        }
        const inserted = await tx.query<{ id: number }>(
          `INSERT INTO charging_transactions (pile_id, connector_id, id_tag, member_id, vehicle_id, reservation_id, meter_start_wh, started_at, created_at, anomalies)
           VALUES ($1, $2, $3, $4, (SELECT vehicle_id FROM piles WHERE id = $1), $5, $6, $7, $8, $9) RETURNING id`,
          [pileId, params.connectorId, params.idTag, status === 'Accepted' ? memberId : null, reservationId, params.meterStart, startedAt, new Date(receivedMs), start.skewed ? ['clock-skew'] : null],
        );
        return { id: inserted.rows[0]!.id, status, stale };
      });
      if (result.stale) await billIfDue(result.stale.id);
      options.onChange(stationId, 'transaction');
      return { transactionId: result.id, idTagInfo: { status: result.status } };
    }, session));

    rpc.handle('StopTransaction', timed('StopTransaction', async (params) => {
      requireRange(params.meterStop, 0, METER_MAX_WH, 'meterStop');
      const clock = { nowMs: Date.now(), toleranceMs: limits.clockToleranceMs };
      const readings = params.transactionData ? readMeterValues(params.transactionData, clock) : [];
      // A transaction is its pile's: another pile's id (ids are sequential) is refused and nothing billed.
      const done = isDbInt(params.transactionId)
        ? await withTransaction(db, async (tx) => {
            const energy = readings.flatMap((reading) => (reading.energyWh === undefined ? [] : [reading.energyWh]));
            const completed = await completeTransaction(tx, pileId, params.transactionId, params.meterStop, Date.parse(params.timestamp), params.reason ?? 'Local', energy);
            if (completed?.fresh) for (const reading of readings) await insertSample(tx, pileId, 0, params.transactionId, reading);
            return completed;
          })
        : undefined;
      // Unknown or not this pile's: acknowledged (the pile must be able to clear its queue) as Invalid.
      if (!done) {
        anomaly(pileId, 'foreign-transaction', { action: 'StopTransaction', transactionId: params.transactionId, meterStop: params.meterStop });
        return { idTagInfo: { status: 'Invalid' } };
      }
      await billIfDue(params.transactionId);
      if (done.fresh) options.onChange(stationId, 'transaction');
      return params.idTag ? { idTagInfo: { status: (await idTagStatus(db, params.idTag, pileId)).status } } : {};
    }, session));

    rpc.handle('MeterValues', timed('MeterValues', async (params) => {
      requireRange(params.connectorId, 0, options.maxConnectors, 'connectorId');
      const readings = readMeterValues(params.meterValue, { nowMs: Date.now(), toleranceMs: limits.clockToleranceMs }).filter((r) => r.energyWh !== undefined || r.powerW !== undefined || r.socPct !== undefined);
      const latest = readings[readings.length - 1];
      if (!latest) return {};
      // Samples count towards a transaction only if it is this pile's open one on that connector.
      let transactionId: number | null = null;
      if (params.transactionId !== undefined) {
        const own = isDbInt(params.transactionId)
          ? await db.query(`SELECT 1 FROM charging_transactions WHERE id = $1 AND pile_id = $2 AND connector_id = $3 AND status = 'active'`, [params.transactionId, pileId, params.connectorId])
          : { rowCount: 0 };
        if (own.rowCount) transactionId = params.transactionId;
        else anomaly(pileId, 'foreign-transaction', { action: 'MeterValues', transactionId: params.transactionId });
      }
      // One round trip: the latest reading per connector and every sample.
      await db.query(
        `WITH latest AS (
           INSERT INTO pile_connectors (pile_id, connector_id, energy_wh, power_w, soc_pct, measured_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())
           ON CONFLICT (pile_id, connector_id) DO UPDATE SET energy_wh = coalesce(EXCLUDED.energy_wh, pile_connectors.energy_wh),
             power_w = coalesce(EXCLUDED.power_w, pile_connectors.power_w), soc_pct = coalesce(EXCLUDED.soc_pct, pile_connectors.soc_pct),
             measured_at = EXCLUDED.measured_at, updated_at = now())
         INSERT INTO meter_samples (pile_id, connector_id, transaction_id, measured_at, energy_wh, power_w, soc_pct)
         SELECT $1, $2, $7, s.at, s.energy, s.power, s.soc FROM unnest($8::timestamptz[], $9::bigint[], $10::int[], $11::numeric[]) AS s(at, energy, power, soc)`,
        [
          pileId,
          params.connectorId,
          latest.energyWh ?? null,
          latest.powerW ?? null,
          latest.socPct ?? null,
          latest.at,
          transactionId,
          readings.map((r) => r.at),
          readings.map((r) => r.energyWh ?? null),
          readings.map((r) => r.powerW ?? null),
          readings.map((r) => r.socPct ?? null),
        ],
      );
      return {};
    }, session));

    rpc.handle('DataTransfer', timed('DataTransfer', async (params) => {
      if (params.vendorId !== PARKED_VEHICLE.vendorId) return { status: 'UnknownVendorId' };
      if (params.messageId !== PARKED_VEHICLE.messageId) return { status: 'UnknownMessageId' };
      const vin = String(params.data ?? '').trim().toUpperCase();
      if (vin === '') {
        const { rowCount } = await db.query(`UPDATE piles SET vin = NULL, vehicle_id = NULL, bound_at = NULL, updated_at = now() WHERE id = $1 AND vin IS NOT NULL`, [pileId]);
        if (rowCount) options.onChange(stationId, 'departure');
        return { status: 'Accepted' };
      }
      const bound = await withTransaction(db, async (tx) => {
        const vehicle = await tx.query<{ id: string }>('SELECT id FROM vehicles WHERE vin = $1', [vin]);
        const vehicleId = vehicle.rows[0]?.id;
        if (!vehicleId) return false;
        // A car is at one pile: a binding elsewhere is stale.
        await tx.query(`UPDATE piles SET vin = NULL, vehicle_id = NULL, bound_at = NULL, updated_at = now() WHERE vehicle_id = $1 AND id <> $2`, [vehicleId, pileId]);
        await tx.query(
          `UPDATE piles SET vin = $2, vehicle_id = $3, bound_at = CASE WHEN vehicle_id IS DISTINCT FROM $3 THEN now() ELSE bound_at END, updated_at = now() WHERE id = $1`,
          [pileId, vin, vehicleId],
        );
        return true;
      });
      if (!bound) return { status: 'Rejected', data: 'unknown VIN' };
      options.onChange(stationId, 'arrival');
      return { status: 'Accepted' };
    }, session));

    // Notifications the platform has no use for yet are acknowledged, as OCPP requires.
    rpc.handle('FirmwareStatusNotification', async () => ({}));
    rpc.handle('DiagnosticsStatusNotification', async () => ({}));
  };

  server.on('client', (rpc: ServerClient) => {
    const session = rpc.session as unknown as PileSession;
    attach(rpc);
    db.query(`UPDATE piles SET instance_id = $2, connected_at = $3, last_seen_at = $3, state = CASE WHEN state = 'offline' THEN 'available' ELSE state END, updated_at = now() WHERE id = $1`, [
      session.pileId,
      instanceId,
      session.connectedAt,
    ]).then(
      () => {
        // Closed before the row was written: the close handler found nothing to mark offline.
        if (sockets.get(session.pileId) !== rpc) {
          void db.query(`UPDATE piles SET state = 'offline', instance_id = NULL WHERE id = $1 AND instance_id = $2 AND connected_at = $3`, [session.pileId, instanceId, session.connectedAt]).catch(() => undefined);
          return;
        }
        options.onChange(session.stationId, 'connected');
        // After the row names this instance, so a caller routed by it finds us.
        bus.publish(pileConnectedSubject(session.pileId), { instanceId });
      },
      (error: unknown) => log.warn({ err: error, pileId: session.pileId }, 'recording the connection failed'),
    );
  });
  server.on('upgradeAborted', (event: { identity?: string; error?: Error }) => log.debug({ pileId: event.identity, err: event.error?.message }, 'upgrade aborted'));

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
      if (!rpc) throw createRPCError('GenericError', `pile ${pileId} is not connected here`);
      return rpc.call(method, params, { callTimeoutMs: timeoutMs });
    },
    drop(pileId) {
      const rpc = sockets.get(pileId);
      sockets.delete(pileId);
      void rpc?.close({ code: 1000, reason: 'Connected elsewhere' }).catch(() => undefined);
    },
    async sweepUnbilled() {
      const { rows } = await db.query<{ id: number }>(
        `SELECT id FROM charging_transactions WHERE status = 'completed' AND billed_at IS NULL AND member_id IS NOT NULL AND anomalies IS NULL AND stopped_at < now() - interval '5 seconds' LIMIT 100`,
      );
      for (const row of rows) await billIfDue(row.id);
      return rows.length;
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
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
  socket.destroySoon();
}

const insertSample = (db: Pool | PoolClient, pileId: string, connectorId: number, transactionId: number | null, reading: ReturnType<typeof readMeterValues>[number]) => {
  if (reading.energyWh === undefined && reading.powerW === undefined && reading.socPct === undefined) return Promise.resolve();
  return db
    .query('INSERT INTO meter_samples (pile_id, connector_id, transaction_id, measured_at, energy_wh, power_w, soc_pct) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      pileId,
      connectorId,
      transactionId,
      reading.at,
      reading.energyWh ?? null,
      reading.powerW ?? null,
      reading.socPct ?? null,
    ])
    .then(() => undefined);
};
