import type { Express } from 'express';
import { problems, validate } from '@evshare/kit';
import type { AppContext } from '../service';
import { bindCard, listCards, unbindCard } from './cards';
import { RENTAL_COLUMNS, RESERVATION_COLUMNS, STATION_COLUMNS, VEHICLE_COLUMNS, planInForce, publicVehicle, rentalSyncState, type Rental, type Reservation, type Station, type Vehicle } from './model';
import { cardBody, cardUid, historyQuery, memberCommandBody, quoteQuery, rentalBody, reservationBody, returnBody, uuid } from './schemas';
import type { RentalService } from './service';

/** The member API of the rental business. Another member's resources answer 404, as if absent. */
export function mountMemberRoutes(app: Express, ctx: AppContext, service: RentalService): void {
  const { db, authenticate } = ctx;
  const me = (req: { session?: { memberId: string } }) => req.session!.memberId;

  app.get('/api/v1/stations', authenticate, async (_req, res) => {
    const { rows } = await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s ORDER BY s.name, s.id`);
    res.json({ items: rows });
  });
  app.get('/api/v1/stations/:id', authenticate, async (req, res) => {
    const { rows } = await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s WHERE s.id = $1`, [validate(uuid, req.params.id, 'path.id')]);
    if (!rows[0]) throw problems.notFound('No such station');
    res.json(rows[0]);
  });
  app.get('/api/v1/stations/:id/vehicles', authenticate, async (req, res) => {
    const stationId = validate(uuid, req.params.id, 'path.id');
    const { rows: stations } = await db.query('SELECT 1 FROM stations WHERE id = $1', [stationId]);
    if (!stations[0]) throw problems.notFound('No such station');
    const { rows } = await db.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.station_id = $1 AND v.state = 'available' ORDER BY v.soc_pct DESC, v.plate`, [stationId]);
    res.json({ items: rows.map(publicVehicle) });
  });
  app.get('/api/v1/pricing-plans/current', authenticate, async (_req, res) => {
    const plan = await planInForce(db);
    if (!plan) throw problems.notFound('No pricing plan is in force');
    res.json(plan);
  });

  app.post('/api/v1/reservations', authenticate, async (req, res) => {
    const { vehicleId } = validate(reservationBody, req.body, 'body');
    const reservation = await service.reserve(me(req), vehicleId);
    res.status(201).location(`/api/v1/reservations/${reservation.id}`).json(reservation);
  });
  app.get('/api/v1/reservations', authenticate, async (req, res) => {
    const { limit, before } = validate(historyQuery, req.query, 'query');
    const { rows } = await db.query<Reservation>(
      `SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.member_id = $1 AND ($2::timestamptz IS NULL OR r.created_at < $2)
        ORDER BY r.created_at DESC LIMIT $3`,
      [me(req), before ?? null, limit],
    );
    res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.createdAt.toISOString() } : {}) });
  });
  app.get('/api/v1/reservations/current', authenticate, async (req, res) => {
    res.json({ reservation: (await rentalSyncState(db, me(req))).reservation });
  });
  app.get('/api/v1/reservations/:id', authenticate, async (req, res) => {
    const { rows } = await db.query<Reservation>(`SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.id = $1 AND r.member_id = $2`, [
      validate(uuid, req.params.id, 'path.id'),
      me(req),
    ]);
    if (!rows[0]) throw problems.notFound('No such reservation');
    res.json(rows[0]);
  });
  app.delete('/api/v1/reservations/:id', authenticate, async (req, res) => {
    res.json(await service.cancelReservation(me(req), validate(uuid, req.params.id, 'path.id')));
  });

  app.post('/api/v1/rentals', authenticate, async (req, res) => {
    const body = validate(rentalBody, req.body, 'body');
    const target = body.reservationId ? { reservationId: body.reservationId } : { vehicleId: body.vehicleId! };
    const rental = await service.startRental(me(req), target);
    res.status(201).location(`/api/v1/rentals/${rental.id}`).json(rental);
  });
  app.get('/api/v1/rentals', authenticate, async (req, res) => {
    const { limit, before } = validate(historyQuery, req.query, 'query');
    const { rows } = await db.query<Rental>(
      `SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.member_id = $1 AND t.status <> 'failed' AND ($2::timestamptz IS NULL OR t.started_at < $2)
        ORDER BY t.started_at DESC LIMIT $3`,
      [me(req), before ?? null, limit],
    );
    res.json({ items: rows, ...(rows.length === limit ? { next: rows.at(-1)!.startedAt.toISOString() } : {}) });
  });
  app.get('/api/v1/rentals/:id', authenticate, async (req, res) => {
    const { rows } = await db.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.id = $1 AND t.member_id = $2`, [validate(uuid, req.params.id, 'path.id'), me(req)]);
    if (!rows[0]) throw problems.notFound('No such rental');
    res.json(rows[0]);
  });
  app.get('/api/v1/rentals/:id/quote', authenticate, async (req, res) => {
    const rentalId = validate(uuid, req.params.id, 'path.id');
    const { stationId } = validate(quoteQuery, req.query, 'query');
    res.json(await service.quoteReturn(me(req), rentalId, stationId));
  });
  app.post('/api/v1/rentals/:id/return', authenticate, async (req, res) => {
    const rentalId = validate(uuid, req.params.id, 'path.id');
    const { stationId } = validate(returnBody, req.body, 'body');
    res.json(await service.returnRental(me(req), rentalId, stationId));
  });
  app.post('/api/v1/rentals/:id/commands', authenticate, async (req, res) => {
    const rentalId = validate(uuid, req.params.id, 'path.id');
    const { action } = validate(memberCommandBody, req.body, 'body');
    res.json(await service.commandRentedVehicle(me(req), rentalId, action));
  });

  app.get('/api/v1/cards', authenticate, async (req, res) => {
    res.json({ items: await listCards(db, me(req)) });
  });
  app.post('/api/v1/cards', authenticate, async (req, res) => {
    const { uid } = validate(cardBody, req.body, 'body');
    const { card, created } = await bindCard(db, me(req), uid);
    await ctx.members.changed(me(req));
    res.status(created ? 201 : 200).location(`/api/v1/cards/${card.uid}`).json(card);
  });
  app.delete('/api/v1/cards/:uid', authenticate, async (req, res) => {
    const uid = validate(cardUid, req.params.uid, 'path.uid');
    // Another member's card is indistinguishable from an unknown one.
    if (!(await unbindCard(db, me(req), uid))) throw problems.notFound('No such card among yours');
    await ctx.members.changed(me(req));
    res.status(204).end();
  });
}
