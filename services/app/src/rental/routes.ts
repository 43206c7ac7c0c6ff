import { problems, route, type Route } from '@evshare/kit';
import { rentalOperations as ops } from '@evshare/api';
import type { AppContext } from '../context';
import { createAppKeyIssuer } from './app-keys';
import { bindCard, listCards, unbindCard } from './cards';
import { planInForce, publicVehicle, rentalSyncState } from './model';
import * as queries from './queries';
import type { RentalService } from './service';

/** The member API of the rental business. Another member's resources answer 404, as if absent. */
export function memberRentalRoutes(ctx: AppContext, service: RentalService): Route[] {
  const { db } = ctx;
  const issueAppKey = createAppKeyIssuer(db, ctx.config);
  return [
    route(ops.stations, async (_input, _req, res) => {
      res.json({ items: await queries.stations(db) });
    }),
    route(ops.station, async ({ params }, _req, res) => {
      const station = await queries.station(db, params.id);
      if (!station) throw problems.notFound('No such station');
      res.json(station);
    }),
    route(ops.stationVehicles, async ({ params }, _req, res) => {
      const vehicles = await queries.availableVehiclesAt(db, params.id);
      if (!vehicles) throw problems.notFound('No such station');
      res.json({ items: vehicles.map(publicVehicle) });
    }),
    route(ops.currentPlan, async ({ query: { vehicleId } }, _req, res) => {
      let scope: { vehicleModel: string | null; stationId: string | null } = { vehicleModel: null, stationId: null };
      if (vehicleId) {
        const car = await queries.vehicle(db, vehicleId);
        if (!car) throw problems.notFound('No such car');
        scope = { vehicleModel: car.model, stationId: car.stationId };
      }
      const found = await planInForce(db, scope);
      if (!found) throw problems.notFound('No pricing plan is in force');
      const { scope: _scope, ...plan } = found;
      res.json(plan);
    }),

    route(ops.reserve, async ({ session, body }, _req, res) => {
      const reservation = await service.reserve(session.memberId, body.vehicleId);
      res.status(201).location(`/api/v1/reservations/${reservation.id}`).json(reservation);
    }),
    route(ops.reservations, async ({ session, query: { limit, before } }, _req, res) => {
      const rows = await queries.memberReservations(db, session.memberId, { limit, before });
      res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.createdAt.toISOString() } : {}) });
    }),
    route(ops.currentReservation, async ({ session }, _req, res) => {
      res.json({ reservation: (await rentalSyncState(db, session.memberId)).reservation });
    }),
    route(ops.reservation, async ({ session, params }, _req, res) => {
      const reservation = await queries.memberReservation(db, session.memberId, params.id);
      if (!reservation) throw problems.notFound('No such reservation');
      res.json(reservation);
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
      const rows = await queries.memberRentals(db, session.memberId, { limit, before });
      res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.startedAt.toISOString() } : {}) });
    }),
    route(ops.rental, async ({ session, params }, _req, res) => {
      const rental = await queries.memberRental(db, session.memberId, params.id);
      if (!rental) throw problems.notFound('No such rental');
      res.json(rental);
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

    route(ops.appKey, async ({ session, params }, _req, res) => {
      res.status(201).json(await issueAppKey(session.memberId, params.id));
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
