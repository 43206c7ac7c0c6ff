import client from 'prom-client';
import type { Logger, Metrics, Pool } from '@evshare/kit';

export interface ReservationJobOptions {
  db: Pool;
  log: Logger;
  metrics: Metrics;
  leadMs: number;
  callPile(pileId: string, method: string, params: unknown): Promise<unknown>;
  /** A booking started, ended or was cancelled: the station's plan may change. */
  onChange(stationId: string): void;
}

interface DueReservation {
  id: string;
  pileId: string;
  stationId: string;
  ocppId: number;
  connectorId: number;
  idTag: string;
  slotEnd: Date;
}

/**
 * Reserved charging: ReserveNow goes to the pile `leadMs` before a booked slot (expiring at the
 * slot's end), and CancelReservation when a reserved slot is cancelled or ends unused. Rows are
 * claimed with SKIP LOCKED, so several instances share the work without sending twice; a pile
 * that is offline or refuses is tried again at a later tick until the slot ends.
 */
export function createReservationJob(options: ReservationJobOptions) {
  const { db, log, metrics } = options;
  const sent = new client.Counter({
    name: 'charging_reservations_sent_total',
    help: 'ReserveNow calls, by the pile answer',
    labelNames: ['status'],
    registers: [metrics.registry],
  });
  const expired = new client.Counter({ name: 'charging_reservations_expired_total', help: 'Booked slots that ended unused', registers: [metrics.registry] });

  const cancelAtPile = async (pileId: string, ocppId: number) => {
    try {
      const answer = (await options.callPile(pileId, 'CancelReservation', { reservationId: ocppId })) as { status: string };
      return answer.status;
    } catch (error) {
      log.info({ pileId, reservationId: ocppId, err: (error as Error).message }, 'CancelReservation not delivered (the pile expires it itself)');
      return 'NotDelivered';
    }
  };

  const reserveDue = async () => {
    const { rows } = await db.query<DueReservation>(
      `UPDATE charging_reservations r SET reserve_sent_at = now()
       WHERE r.id IN (
         SELECT id FROM charging_reservations
         WHERE status = 'booked' AND slot_start - $1 * interval '1 millisecond' <= now() AND slot_end > now()
           AND (reserve_sent_at IS NULL OR reserve_sent_at < now() - interval '30 seconds')
         ORDER BY slot_start LIMIT 50 FOR UPDATE SKIP LOCKED)
       RETURNING r.id, r.pile_id AS "pileId", r.station_id AS "stationId", r.ocpp_id AS "ocppId", r.connector_id AS "connectorId", r.id_tag AS "idTag", r.slot_end AS "slotEnd"`,
      [options.leadMs],
    );
    await Promise.all(
      rows.map(async (r) => {
        let status: string;
        try {
          const answer = (await options.callPile(r.pileId, 'ReserveNow', {
            connectorId: r.connectorId,
            expiryDate: r.slotEnd.toISOString(),
            idTag: r.idTag,
            reservationId: r.ocppId,
          })) as { status: string };
          status = answer.status;
        } catch (error) {
          status = (error as { code?: string }).code ?? 'Error';
        }
        sent.inc({ status });
        if (status === 'Accepted') {
          // Cancelled while the call was in flight: take the reservation back.
          const { rowCount } = await db.query(`UPDATE charging_reservations SET status = 'reserved', failure = NULL WHERE id = $1 AND status = 'booked'`, [
            r.id,
          ]);
          if (!rowCount) await cancelAtPile(r.pileId, r.ocppId);
          else options.onChange(r.stationId);
        } else {
          await db.query(`UPDATE charging_reservations SET failure = $2 WHERE id = $1`, [r.id, `ReserveNow: ${status}`]);
          log.info({ pileId: r.pileId, reservation: r.id, status }, 'ReserveNow not accepted; will retry');
        }
      }),
    );
    return rows.length;
  };

  const expireEnded = async () => {
    const { rows } = await db.query<{ pileId: string; stationId: string; ocppId: number; wasReserved: boolean }>(
      `UPDATE charging_reservations r SET status = 'expired', ended_at = now()
       FROM (SELECT id, status AS before FROM charging_reservations WHERE status IN ('booked', 'reserved') AND slot_end <= now() LIMIT 100 FOR UPDATE SKIP LOCKED) old
       WHERE r.id = old.id
       RETURNING r.pile_id AS "pileId", r.station_id AS "stationId", r.ocpp_id AS "ocppId", old.before = 'reserved' AS "wasReserved"`,
    );
    for (const row of rows) {
      expired.inc();
      if (row.wasReserved) await cancelAtPile(row.pileId, row.ocppId);
      options.onChange(row.stationId);
    }
    return rows.length;
  };

  return {
    async tick() {
      await expireEnded();
      await reserveDue();
    },
    /** A member or operator cancelled: the pile lets the connector go. */
    cancelAtPile,
  };
}
