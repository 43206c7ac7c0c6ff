import { withTransaction, type Pool, type PoolClient } from '@evshare/kit';
import type { MeterReading, PileState } from './meter';

/**
 * The central system's persistence: piles and their connectors, charging transactions, meter
 * samples, the billing marks and the operators' review items. Every statement the OCPP handlers
 * run is here, so the handlers (central.ts) read as protocol and decisions; bigint and numeric
 * columns come back as numbers.
 */
export interface ChargingQueries {
  // ---- Piles
  /** The handshake's check: the pile's station and password hash. */
  pileCredentials(pileId: string): Promise<{ stationId: string; passwordHash: string } | undefined>;
  touchPile(pileId: string): Promise<void>;
  recordBoot(pileId: string, boot: { vendor: string; model: string; firmware: string | null }): Promise<void>;
  /** This instance holds the pile's socket from connectedAt. */
  recordConnection(pileId: string, instanceId: string, connectedAt: Date): Promise<void>;
  /** The instance holding the pile's socket, null when none does. */
  holderOf(pileId: string): Promise<string | null>;
  /** Whether the operators enabled the pile, and its station. */
  pileSwitch(pileId: string): Promise<{ enabled: boolean; stationId: string } | undefined>;
  /** Every pile this instance held is offline (at its start and its stop). */
  releaseInstance(instanceId: string): Promise<void>;
  /** Offline, unless a newer connection (here or on another instance) took the pile over; whether it was marked. */
  markOffline(pileId: string, instanceId: string, connectedAt: Date): Promise<boolean>;
  setConnectorStatus(pileId: string, connectorId: number, status: string): Promise<void>;
  /** The pile's new state; returns the state it had before. */
  setPileState(pileId: string, state: PileState, status: string, errorCode: string): Promise<string | undefined>;
  /** Serialises the transactions of one pile (a row lock held to the end of the database transaction). */
  lockPile(pileId: string): Promise<void>;
  /** Clears the car parked at the pile; whether one was. */
  unbindVehicle(pileId: string): Promise<boolean>;
  /** Binds the car of this VIN to the pile (and unbinds it from any other pile); false for an unknown VIN. */
  bindVehicle(pileId: string, vin: string): Promise<boolean>;

  // ---- Id tags
  /** The membership card of a uid and its member's status. */
  cardOf(uid: string): Promise<{ memberId: string | null; status: string | null } | undefined>;
  /** A live reservation's own token at this pile: its member (null if nobody's), undefined when none. */
  reservationTokenHolder(idTag: string, pileId: string): Promise<string | null | undefined>;

  // ---- Transactions
  /** The pile's open transaction on a connector. */
  openTransaction(pileId: string, connectorId: number): Promise<OpenTransaction | undefined>;
  isOpenTransactionOf(transactionId: number, pileId: string, connectorId: number): Promise<boolean>;
  /** Marks the pile's reservation with this OCPP id as charging; its id, null when there is none. */
  claimReservation(ocppReservationId: number, pileId: string): Promise<string | null>;
  insertTransaction(row: NewTransaction): Promise<number>;
  /** A transaction of this pile, locked for its completion. */
  transactionForCompletion(transactionId: number, pileId: string): Promise<TransactionForCompletion | undefined>;
  /** The energy register's samples recorded for a transaction, oldest first. */
  energySamplesWh(pileId: string, transactionId: number): Promise<number[]>;
  completeTransaction(row: CompletedTransaction): Promise<void>;
  completeReservation(reservationId: string): Promise<void>;
  /** A session whose bill is held, for an operator to decide (once per reference). */
  insertChargeReview(review: ChargeReview): Promise<void>;

  // ---- Meter values
  /** The latest reading on the connector and every sample, in one round trip. */
  recordMeterValues(pileId: string, connectorId: number, transactionId: number | null, readings: MeterReading[]): Promise<void>;
  insertSample(pileId: string, connectorId: number, transactionId: number | null, reading: MeterReading): Promise<void>;

  // ---- Billing
  /** A completed, trusted session of a member not yet published to billing. */
  billableTransaction(transactionId: number): Promise<BillableTransaction | undefined>;
  markBilled(transactionId: number): Promise<void>;
  /** Completed sessions whose publication did not finish (older than a few seconds). */
  unbilledTransactionIds(limit: number): Promise<number[]>;
}

export interface ChargingRepository extends ChargingQueries {
  /** Runs `work` in one database transaction. */
  transaction<T>(work: (tx: ChargingQueries) => Promise<T>): Promise<T>;
}

export interface OpenTransaction {
  id: number;
  idTag: string;
  startedAt: Date;
  meterStartWh: number;
  anomalies: string[] | null;
}

export interface NewTransaction {
  pileId: string;
  connectorId: number;
  idTag: string;
  memberId: string | null;
  reservationId: string | null;
  meterStartWh: number;
  startedAt: Date;
  receivedAt: Date;
  anomalies: string[] | null;
}

export interface TransactionForCompletion {
  id: number;
  pileId: string;
  memberId: string | null;
  meterStartWh: number;
  startedAt: Date;
  receivedAt: Date;
  status: string;
  reservationId: string | null;
  anomalies: string[] | null;
  ratedW: number;
}

export interface CompletedTransaction {
  id: number;
  meterStopWh: number;
  stoppedAt: Date;
  reason: string;
  energyWh: number;
  /** Null while an operator has to decide. */
  amountFen: number | null;
  anomalies: string[] | null;
}

export interface ChargeReview {
  reference: string;
  pileId: string;
  memberId: string | null;
  reported: Record<string, unknown>;
  bound: Record<string, unknown>;
  reasons: string[];
  reportedFen: number;
  boundedFen: number;
}

export interface BillableTransaction {
  id: number;
  pileId: string;
  memberId: string;
  amountFen: number;
  energyWh: number;
  stoppedAt: Date;
}

type Queryable = Pool | PoolClient;

function queries(db: Queryable): ChargingQueries {
  return {
    async pileCredentials(pileId) {
      const { rows } = await db.query<{ stationId: string; passwordHash: string }>(
        'SELECT station_id AS "stationId", password_hash AS "passwordHash" FROM piles WHERE id = $1',
        [pileId],
      );
      return rows[0];
    },
    async touchPile(pileId) {
      await db.query('UPDATE piles SET last_seen_at = now() WHERE id = $1', [pileId]);
    },
    async recordBoot(pileId, boot) {
      await db.query(`UPDATE piles SET vendor = $2, model = $3, firmware = $4, last_seen_at = now(), updated_at = now() WHERE id = $1`, [
        pileId,
        boot.vendor,
        boot.model,
        boot.firmware,
      ]);
    },
    async recordConnection(pileId, instanceId, connectedAt) {
      await db.query(
        `UPDATE piles SET instance_id = $2, connected_at = $3, last_seen_at = $3, state = CASE WHEN state = 'offline' THEN 'available' ELSE state END, updated_at = now() WHERE id = $1`,
        [pileId, instanceId, connectedAt],
      );
    },
    async holderOf(pileId) {
      const { rows } = await db.query<{ instanceId: string | null }>('SELECT instance_id AS "instanceId" FROM piles WHERE id = $1', [pileId]);
      return rows[0]?.instanceId ?? null;
    },
    async pileSwitch(pileId) {
      const { rows } = await db.query<{ enabled: boolean; stationId: string }>('SELECT enabled, station_id AS "stationId" FROM piles WHERE id = $1', [pileId]);
      return rows[0];
    },
    async releaseInstance(instanceId) {
      await db.query(`UPDATE piles SET state = 'offline', instance_id = NULL, updated_at = now() WHERE instance_id = $1`, [instanceId]);
    },
    async markOffline(pileId, instanceId, connectedAt) {
      const { rowCount } = await db.query(
        `UPDATE piles SET state = 'offline', instance_id = NULL, updated_at = now() WHERE id = $1 AND instance_id = $2 AND connected_at = $3`,
        [pileId, instanceId, connectedAt],
      );
      return (rowCount ?? 0) > 0;
    },
    async setConnectorStatus(pileId, connectorId, status) {
      await db.query(
        `INSERT INTO pile_connectors (pile_id, connector_id, ocpp_status, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (pile_id, connector_id) DO UPDATE SET ocpp_status = EXCLUDED.ocpp_status, updated_at = now()`,
        [pileId, connectorId, status],
      );
    },
    async setPileState(pileId, state, status, errorCode) {
      const { rows } = await db.query<{ before: string }>(
        `UPDATE piles p SET state = $2, ocpp_status = $3, error_code = $4, last_seen_at = now(), updated_at = now()
         FROM (SELECT state AS before FROM piles WHERE id = $1) old WHERE p.id = $1 RETURNING old.before`,
        [pileId, state, status, errorCode],
      );
      return rows[0]?.before;
    },
    async lockPile(pileId) {
      await db.query('SELECT 1 FROM piles WHERE id = $1 FOR UPDATE', [pileId]);
    },
    async unbindVehicle(pileId) {
      const { rowCount } = await db.query(
        `UPDATE piles SET vin = NULL, vehicle_id = NULL, bound_at = NULL, updated_at = now() WHERE id = $1 AND vin IS NOT NULL`,
        [pileId],
      );
      return (rowCount ?? 0) > 0;
    },
    async bindVehicle(pileId, vin) {
      const vehicle = await db.query<{ id: string }>('SELECT id FROM vehicles WHERE vin = $1', [vin]);
      const vehicleId = vehicle.rows[0]?.id;
      if (!vehicleId) return false;
      // A car is at one pile: a binding elsewhere is stale.
      await db.query(`UPDATE piles SET vin = NULL, vehicle_id = NULL, bound_at = NULL, updated_at = now() WHERE vehicle_id = $1 AND id <> $2`, [
        vehicleId,
        pileId,
      ]);
      await db.query(
        `UPDATE piles SET vin = $2, vehicle_id = $3, bound_at = CASE WHEN vehicle_id IS DISTINCT FROM $3 THEN now() ELSE bound_at END, updated_at = now() WHERE id = $1`,
        [pileId, vin, vehicleId],
      );
      return true;
    },

    async cardOf(uid) {
      const { rows } = await db.query<{ memberId: string | null; status: string | null }>(
        `SELECT c.member_id AS "memberId", m.status FROM membership_cards c LEFT JOIN members m ON m.id = c.member_id WHERE c.uid = $1`,
        [uid],
      );
      return rows[0];
    },
    async reservationTokenHolder(idTag, pileId) {
      const { rows } = await db.query<{ memberId: string | null }>(
        `SELECT member_id AS "memberId" FROM charging_reservations WHERE id_tag = $1 AND pile_id = $2 AND status IN ('reserved', 'charging')`,
        [idTag, pileId],
      );
      return rows[0] ? rows[0].memberId : undefined;
    },

    async openTransaction(pileId, connectorId) {
      const { rows } = await db.query<Omit<OpenTransaction, 'meterStartWh'> & { meterStartWh: string }>(
        `SELECT id, id_tag AS "idTag", started_at AS "startedAt", meter_start_wh AS "meterStartWh", anomalies FROM charging_transactions
         WHERE pile_id = $1 AND connector_id = $2 AND status = 'active'`,
        [pileId, connectorId],
      );
      const row = rows[0];
      return row && { ...row, meterStartWh: Number(row.meterStartWh) };
    },
    async isOpenTransactionOf(transactionId, pileId, connectorId) {
      const { rowCount } = await db.query(`SELECT 1 FROM charging_transactions WHERE id = $1 AND pile_id = $2 AND connector_id = $3 AND status = 'active'`, [
        transactionId,
        pileId,
        connectorId,
      ]);
      return (rowCount ?? 0) > 0;
    },
    async claimReservation(ocppReservationId, pileId) {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE charging_reservations SET status = 'charging' WHERE ocpp_id = $1 AND pile_id = $2 AND status = 'reserved' RETURNING id`,
        [ocppReservationId, pileId],
      );
      return rows[0]?.id ?? null;
    },
    async insertTransaction(row) {
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO charging_transactions (pile_id, connector_id, id_tag, member_id, vehicle_id, reservation_id, meter_start_wh, started_at, created_at, anomalies)
         VALUES ($1, $2, $3, $4, (SELECT vehicle_id FROM piles WHERE id = $1), $5, $6, $7, $8, $9) RETURNING id`,
        [row.pileId, row.connectorId, row.idTag, row.memberId, row.reservationId, row.meterStartWh, row.startedAt, row.receivedAt, row.anomalies],
      );
      return rows[0]!.id;
    },
    async transactionForCompletion(transactionId, pileId) {
      const { rows } = await db.query<Omit<TransactionForCompletion, 'meterStartWh'> & { meterStartWh: string }>(
        `SELECT t.id, t.pile_id AS "pileId", t.member_id AS "memberId", t.meter_start_wh AS "meterStartWh", t.started_at AS "startedAt", t.created_at AS "receivedAt",
                t.status, t.reservation_id AS "reservationId", t.anomalies, p.max_power_w AS "ratedW"
         FROM charging_transactions t JOIN piles p ON p.id = t.pile_id WHERE t.id = $1 AND t.pile_id = $2 FOR UPDATE OF t`,
        [transactionId, pileId],
      );
      const row = rows[0];
      return row && { ...row, meterStartWh: Number(row.meterStartWh) };
    },
    async energySamplesWh(pileId, transactionId) {
      const { rows } = await db.query<{ energyWh: string }>(
        'SELECT energy_wh AS "energyWh" FROM meter_samples WHERE pile_id = $1 AND transaction_id = $2 AND energy_wh IS NOT NULL ORDER BY id',
        [pileId, transactionId],
      );
      return rows.map((row) => Number(row.energyWh));
    },
    async completeTransaction(row) {
      await db.query(
        `UPDATE charging_transactions SET status = 'completed', meter_stop_wh = $2, stopped_at = $3, stop_reason = $4, energy_wh = $5, amount_fen = $6, anomalies = $7 WHERE id = $1`,
        [row.id, row.meterStopWh, row.stoppedAt, row.reason, row.energyWh, row.amountFen, row.anomalies],
      );
    },
    async completeReservation(reservationId) {
      await db.query(`UPDATE charging_reservations SET status = 'completed', ended_at = now() WHERE id = $1 AND status IN ('reserved', 'charging')`, [
        reservationId,
      ]);
    },
    async insertChargeReview(review) {
      await db.query(
        `INSERT INTO device_charge_reviews (kind, reference, device, member_id, reported, bound, reasons, reported_fen, bounded_fen)
         VALUES ('charging', $1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reference) DO NOTHING`,
        [
          review.reference,
          review.pileId,
          review.memberId,
          JSON.stringify(review.reported),
          JSON.stringify(review.bound),
          review.reasons,
          review.reportedFen,
          review.boundedFen,
        ],
      );
    },

    async recordMeterValues(pileId, connectorId, transactionId, readings) {
      const latest = readings[readings.length - 1];
      if (!latest) return;
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
          connectorId,
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
    },
    async insertSample(pileId, connectorId, transactionId, reading) {
      if (reading.energyWh === undefined && reading.powerW === undefined && reading.socPct === undefined) return;
      await db.query(
        'INSERT INTO meter_samples (pile_id, connector_id, transaction_id, measured_at, energy_wh, power_w, soc_pct) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [pileId, connectorId, transactionId, reading.at, reading.energyWh ?? null, reading.powerW ?? null, reading.socPct ?? null],
      );
    },

    async billableTransaction(transactionId) {
      const { rows } = await db.query<Omit<BillableTransaction, 'amountFen' | 'energyWh'> & { amountFen: string; energyWh: string }>(
        `SELECT id, pile_id AS "pileId", member_id AS "memberId", amount_fen AS "amountFen", energy_wh AS "energyWh", stopped_at AS "stoppedAt"
         FROM charging_transactions WHERE id = $1 AND status = 'completed' AND member_id IS NOT NULL AND billed_at IS NULL AND anomalies IS NULL`,
        [transactionId],
      );
      const row = rows[0];
      return row && { ...row, amountFen: Number(row.amountFen), energyWh: Number(row.energyWh) };
    },
    async markBilled(transactionId) {
      await db.query('UPDATE charging_transactions SET billed_at = now() WHERE id = $1', [transactionId]);
    },
    async unbilledTransactionIds(limit) {
      const { rows } = await db.query<{ id: number }>(
        `SELECT id FROM charging_transactions WHERE status = 'completed' AND billed_at IS NULL AND member_id IS NOT NULL AND anomalies IS NULL AND stopped_at < now() - interval '5 seconds' LIMIT $1`,
        [limit],
      );
      return rows.map((row) => row.id);
    },
  };
}

export function createChargingRepository(pool: Pool): ChargingRepository {
  return { ...queries(pool), transaction: (work) => withTransaction(pool, (tx) => work(queries(tx))) };
}
