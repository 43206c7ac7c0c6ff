import { deliverNotice, type Bus, type KeyValueStore, type Logger, type Pool } from '@evshare/kit';
import type { Rental } from './model';

export interface NoticeDeps {
  db: Pool;
  bus: Bus;
  cache: KeyValueStore;
  log: Logger;
}

/**
 * The member notices of the rental business (docs/push.md, "Member notices"); which go by SMS
 * is the kit's notice policy. They are told after the commit; a notice that cannot be sent
 * (the bus is down) is logged and does not undo the rental it tells of.
 */
export function createRentalNotices(deps: NoticeDeps) {
  const { db, log } = deps;
  const safely = async (what: string, reference: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      log.warn({ err: error, reference }, `${what} notice not sent`);
    }
  };

  async function rentalStarted(rental: Pick<Rental, 'id' | 'memberId' | 'vehicleId' | 'startStationId'>): Promise<void> {
    const reference = `rental-started:${rental.id}`;
    await safely('rental-started', reference, async () => {
      const { rows } = await db.query<{ plate: string; station: string }>(
        'SELECT v.plate, s.name AS station FROM vehicles v, stations s WHERE v.id = $1 AND s.id = $2',
        [rental.vehicleId, rental.startStationId],
      );
      const at = rows[0];
      if (!at) return;
      await deliverNotice(deps, { memberId: rental.memberId, kind: 'rental-started', reference, params: at, body: { rentalId: rental.id } });
    });
  }

  /** The bill: its SMS is one the member cannot turn off. */
  async function rentalEnded(rental: Pick<Rental, 'id' | 'memberId' | 'totalFen' | 'price'>, plate: string): Promise<void> {
    const reference = `rental-ended:${rental.id}`;
    await safely('rental-ended', reference, () =>
      deliverNotice(deps, {
        memberId: rental.memberId,
        kind: 'rental-ended',
        reference,
        params: { plate, feeFen: rental.totalFen ?? 0 },
        body: { rentalId: rental.id, totalFen: rental.totalFen, price: rental.price },
      }),
    );
  }

  /**
   * Tells the holders of reservations expiring within `leadMinutes` (and not yet due), once each:
   * the statement that marks a reservation told is the one that picks it (rows another instance
   * is marking are skipped), so with any number of instances sweeping each is told by one. A
   * crash between the mark and the send loses that notice rather than sending it twice.
   */
  async function reservationsExpiring(leadMinutes: number): Promise<number> {
    const { rows } = await db.query<{ id: string; memberId: string; plate: string; expiresAt: Date }>(
      `WITH due AS (
         SELECT id FROM reservations
          WHERE status = 'active' AND expiring_noticed_at IS NULL AND expires_at > now() AND expires_at <= now() + make_interval(mins => $1)
          ORDER BY expires_at LIMIT 200 FOR UPDATE SKIP LOCKED
       )
       UPDATE reservations r SET expiring_noticed_at = now() FROM due, vehicles v
        WHERE r.id = due.id AND v.id = r.vehicle_id
        RETURNING r.id, r.member_id AS "memberId", v.plate, r.expires_at AS "expiresAt"`,
      [leadMinutes],
    );
    for (const reservation of rows) {
      const reference = `reservation-expiring:${reservation.id}`;
      const minutes = Math.max(1, Math.ceil((reservation.expiresAt.getTime() - Date.now()) / 60_000));
      await safely('reservation-expiring', reference, () =>
        deliverNotice(deps, {
          memberId: reservation.memberId,
          kind: 'reservation-expiring',
          reference,
          params: { plate: reservation.plate, minutes },
          body: { reservationId: reservation.id, expiresAt: reservation.expiresAt.toISOString() },
        }),
      );
    }
    return rows.length;
  }

  return { rentalStarted, rentalEnded, reservationsExpiring };
}
export type RentalNotices = ReturnType<typeof createRentalNotices>;
