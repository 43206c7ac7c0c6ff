import { problems, route, type Route } from '@evshare/kit';
import { rentalOperations as ops } from '@evshare/api';
import type { AppContext } from '../context';
import { bindCard, listCards, unbindCard } from './cards';
import {
  RENTAL_COLUMNS,
  RESERVATION_COLUMNS,
  STATION_COLUMNS,
  VEHICLE_COLUMNS,
  planInForce,
  publicVehicle,
  rentalSyncState,
  type Rental,
  type Reservation,
  type Station,
  type Vehicle,
} from './model';
import type { RentalService } from './service';

/** The member API of the rental business. Another member's resources answer 404, as if absent. */
export function memberRentalRoutes(ctx: AppContext, service: RentalService): Route[] {
  const { db } = ctx;
  return [
    route(ops.stations, async (_input, _req, res) => {
      const { rows } = await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s ORDER BY s.name, s.id`);
      res.json({ items: rows });
    }),
    route(ops.station, async ({ params }, _req, res) => {
      const { rows } = await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s WHERE s.id = $1`, [params.id]);
      if (!rows[0]) throw problems.notFound('No such station');
      res.json(rows[0]);
    }),
    route(ops.stationVehicles, async ({ params }, _req, res) => {
      const { rows: stations } = await db.query('SELECT 1 FROM stations WHERE id = $1', [params.id]);
      if (!stations[0]) throw problems.notFound('No such station');
      const { rows } = await db.query<Vehicle>(
        `SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.station_id = $1 AND v.state = 'available' ORDER BY v.soc_pct DESC, v.plate`,
        [params.id],
      );
      res.json({ items: rows.map(publicVehicle) });
    }),
    route(ops.currentPlan, async (_input, _req, res) => {
      const plan = await planInForce(db);
      if (!plan) throw problems.notFound('No pricing plan is in force');
      res.json(plan);
    }),

    route(ops.reserve, async ({ session, body }, _req, res) => {
      const reservation = await service.reserve(session.memberId, body.vehicleId);
      res.status(201).location(`/api/v1/reservations/${reservation.id}`).json(reservation);
    }),
    route(ops.reservations, async ({ session, query: { limit, before } }, _req, res) => {
      const { rows } = await db.query<Reservation>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.member_id = $1 AND ($2::timestamptz IS NULL OR r.created_at < $2)
          ORDER BY r.created_at DESC LIMIT $3`,
        [session.memberId, before ?? null, limit],
      );
      res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.createdAt.toISOString() } : {}) });
    }),
    route(ops.currentReservation, async ({ session }, _req, res) => {
      res.json({ reservation: (await rentalSyncState(db, session.memberId)).reservation });
    }),
    route(ops.reservation, async ({ session, params }, _req, res) => {
      const { rows } = await db.query<Reservation>(`SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.id = $1 AND r.member_id = $2`, [
        params.id,
        session.memberId,
      ]);
      if (!rows[0]) throw problems.notFound('No such reservation');
      res.json(rows[0]);
    }),
    route(ops.cancelReservation, async ({ session, params }, _req, res) => {
      res.json(await service.cancelReservation(session.memberId, params.id));
    }),

    route(ops.rent, async ({ session, body }, _req, res) => {
      const target = body.reservationId ? { reservationId: body.reservationId } : { vehicleId: body.vehicleId! };
      const rental = await service.startRental(session.memberId, target);
      res.status(201).location(`/api/v1/rentals/${rental.id}`).json(rental);
    }),
    route(ops.rentals, async ({ session, query: { limit, before } }, _req, res) => {
      const { rows } = await db.query<Rental>(
        `SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.member_id = $1 AND t.status <> 'failed' AND ($2::timestamptz IS NULL OR t.started_at < $2)
          ORDER BY t.started_at DESC LIMIT $3`,
        [session.memberId, before ?? null, limit],
      );
      res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.startedAt.toISOString() } : {}) });
    }),
    route(ops.rental, async ({ session, params }, _req, res) => {
      const { rows } = await db.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.id = $1 AND t.member_id = $2`, [params.id, session.memberId]);
      if (!rows[0]) throw problems.notFound('No such rental');
      res.json(rows[0]);
    }),
    route(ops.quote, async ({ session, params, query }, _req, res) => {
      res.json(await service.quoteReturn(session.memberId, params.id, query.stationId));
    }),
    route(ops.returnRental, async ({ session, params, body }, _req, res) => {
      res.json(await service.returnRental(session.memberId, params.id, body.stationId));
    }),
    route(ops.rentalCommand, async ({ session, params, body }, _req, res) => {
      res.json(await service.commandRentedVehicle(session.memberId, params.id, body.action));
    }),

    route(ops.cards, async ({ session }, _req, res) => {
      res.json({ items: await listCards(db, session.memberId) });
    }),
    route(ops.bindCard, async ({ session, body }, _req, res) => {
      const { card, created } = await bindCard(db, session.memberId, body.uid);
      await ctx.members.changed(session.memberId);
      res
        .status(created ? 201 : 200)
        .location(`/api/v1/cards/${card.uid}`)
        .json(card);
    }),
    route(ops.unbindCard, async ({ session, params }, _req, res) => {
      // Another member's card is indistinguishable from an unknown one.
      if (!(await unbindCard(db, session.memberId, params.uid))) throw problems.notFound('No such card among yours');
      await ctx.members.changed(session.memberId);
      res.status(204).end();
    }),
  ];
}
