import { Problem, problems, provisionVehicleCredentials, route, withTransaction, type Route } from '@evshare/kit';
import { rentalAdminOperations as ops } from '@evshare/api';
import type { AppContext } from '../context';
import type { RentalService } from './service';
import { PLAN_COLUMNS, RENTAL_SETTINGS_COLUMNS, VEHICLE_COLUMNS, planInForce, rentalSettings, type Plan, type RentalSettings, type Vehicle } from './model';
import * as queries from './queries';
import { allowedTransitions, checkTransition } from './vehicle-state';

const STATION_COLUMN_NAMES = {
  name: 'name',
  lat: 'lat',
  lng: 'lng',
  geofenceRadiusM: 'geofence_radius_m',
  capacity: 'capacity',
  returnPolicy: 'return_policy',
} as const;
const VEHICLE_COLUMN_NAMES = {
  plate: 'plate',
  model: 'model',
  batteryKwh: 'battery_kwh',
  ratedRangeKm: 'rated_range_km',
  homeStationId: 'home_station_id',
} as const;

/** `SET a = $2, b = $3` for the fields present in a validated patch (column names from a fixed map). */
function setClause(patch: Record<string, unknown>, columns: Record<string, string>): { sql: string; values: unknown[] } {
  const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
  return { sql: entries.map(([key], i) => `${columns[key]} = $${i + 2}`).join(', '), values: entries.map(([, value]) => value) };
}

/** Database refusals that are the client's mistake, named by field. */
function fromConstraint(error: unknown): never {
  const { code, constraint } = error as { code?: string; constraint?: string };
  if (code === '23505' && constraint === 'vehicles_vin_key') throw problems.conflict('vehicle-exists', 'A car with this VIN already exists');
  if (code === '23505' && constraint === 'vehicles_plate_key') throw problems.conflict('vehicle-exists', 'A car with this plate already exists');
  if (code === '23503' && constraint === 'vehicles_home_station_id_fkey')
    throw problems.validation([{ name: 'body.homeStationId', reason: 'no such station' }]);
  if (code === '23503' && constraint === 'vehicles_station_id_fkey') throw problems.validation([{ name: 'body.stationId', reason: 'no such station' }]);
  if (code === '23503' && constraint === 'pricing_plans_station_id_fkey') throw problems.validation([{ name: 'body.stationId', reason: 'no such station' }]);
  throw error;
}

/** Rental publishing for operators (the patent's web administrator side): stations, cars, prices. */
export function adminRentalRoutes(ctx: AppContext, service: RentalService): Route[] {
  const { db } = ctx;

  const station = async (id: string) => {
    const found = await queries.station(db, id);
    if (!found) throw problems.notFound('No such station');
    return found;
  };
  const vehicle = async (id: string) => {
    const found = await queries.vehicle(db, id);
    if (!found) throw problems.notFound('No such car');
    return found;
  };

  return [
    route(ops.createStation, async ({ body }, _req, res) => {
      const { rows } = await db.query<{ id: string }>(
        'INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
        [body.name, body.lat, body.lng, body.geofenceRadiusM, body.capacity, body.returnPolicy],
      );
      res
        .status(201)
        .location(`/api/v1/stations/${rows[0]!.id}`)
        .json(await station(rows[0]!.id));
    }),
    route(ops.updateStation, async ({ params: { id }, body }, _req, res) => {
      const { sql, values } = setClause(body, STATION_COLUMN_NAMES);
      const { rowCount } = await db.query(`UPDATE stations SET ${sql}, updated_at = now() WHERE id = $1`, [id, ...values]);
      if (!rowCount) throw problems.notFound('No such station');
      res.json(await station(id));
    }),

    route(ops.vehicles, async ({ query: { stationId, state } }, _req, res) => {
      res.json({ items: await queries.vehicles(db, { stationId, state }) });
    }),
    route(ops.vehicle, async ({ params }, _req, res) => {
      res.json(await vehicle(params.id));
    }),
    route(ops.createVehicle, async ({ body }, _req, res) => {
      // A new car stands at its station's coordinates until its terminal reports.
      const { rows } = await db
        .query<{ id: string }>(
          `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id, lat, lng, soc_pct, odometer_m, state)
           SELECT $1, $2, $3, $4, $5, $6, s.id, s.lat, s.lng, $8, $9, $10 FROM stations s WHERE s.id = $7
           RETURNING id`,
          [
            body.vin,
            body.plate,
            body.model,
            body.batteryKwh,
            body.ratedRangeKm,
            body.homeStationId,
            body.stationId ?? body.homeStationId,
            body.socPct,
            body.odometerM,
            body.state,
          ],
        )
        .catch(fromConstraint);
      if (!rows[0]) throw problems.validation([{ name: body.stationId ? 'body.stationId' : 'body.homeStationId', reason: 'no such station' }]);
      res
        .status(201)
        .location(`/api/v1/admin/vehicles/${rows[0].id}`)
        .json(await vehicle(rows[0].id));
    }),
    route(ops.updateVehicle, async ({ params: { id }, body }, _req, res) => {
      const { sql, values } = setClause(body, VEHICLE_COLUMN_NAMES);
      const { rowCount } = await db
        .query(`UPDATE vehicles SET ${sql}, version = version + 1, updated_at = now() WHERE id = $1`, [id, ...values])
        .catch(fromConstraint);
      if (!rowCount) throw problems.notFound('No such car');
      res.json(await vehicle(id));
    }),
    // Out of service (maintenance, offline) and back; the state machine decides what is allowed.
    route(ops.vehicleState, async ({ params: { id }, body: { state } }, _req, res) => {
      await withTransaction(db, async (c) => {
        const { rows } = await c.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1 FOR UPDATE`, [id]);
        const current = rows[0];
        if (!current) throw problems.notFound('No such car');
        // Reserved and in use belong to a member's reservation or rental, which must end first.
        if (current.state === 'reserved' || current.state === 'in_use') {
          throw problems.conflict('vehicle-busy', `The car is ${current.state.replace('_', ' ')} by a member; it can be taken out of service once that ends`);
        }
        const check = checkTransition(current.state, state);
        if (!check.ok) throw new Problem(409, check.reason, 'Conflict', check.detail, { state: current.state, allowed: allowedTransitions(current.state) });
        await c.query('UPDATE vehicles SET state = $2, version = version + 1, updated_at = now() WHERE id = $1', [id, state]);
      });
      res.json(await vehicle(id));
    }),

    // The car terminal's MQTT credential (username = VIN): issuing again replaces it, so this is
    // also the rotation. The secret is answered once; only its SHA-256 is stored.
    route(ops.issueCredential, async ({ params: { id } }, _req, res) => {
      const car = await vehicle(id);
      const [issued] = await provisionVehicleCredentials(db, [car.vin]);
      if (!issued) throw problems.notFound('No such car');
      res.status(201).json({ vehicleId: id, vin: issued.vin, secret: issued.secret });
    }),
    route(ops.credential, async ({ params: { id } }, _req, res) => {
      const car = await vehicle(id);
      const { rows } = await db.query<{ issuedAt: Date }>('SELECT created_at AS "issuedAt" FROM vehicle_credentials WHERE vin = $1', [car.vin]);
      res.json({ vehicleId: id, vin: car.vin, issuedAt: rows[0]?.issuedAt.toISOString() ?? null });
    }),

    // Remote commands through the vehicle link; the answer is the car's acknowledgement.
    route(ops.vehicleCommand, async ({ params: { id }, body: { action } }, _req, res) => {
      res.json(await service.commandVehicle(id, action));
    }),

    // An operator's own access to one car: an entry on that car's whitelist only, which the
    // platform removes and the terminal refuses after validUntil. No operator is on every car.
    route(ops.grantAccess, async ({ params: { id }, body: { minutes }, session }, _req, res) => {
      const car = await vehicle(id);
      const memberId = session.memberId;
      const { rows } = await db.query<{ validUntil: Date }>(
        `INSERT INTO vehicle_operator_access (vehicle_id, member_id, valid_until) VALUES ($1, $2, now() + make_interval(mins => $3)) RETURNING valid_until AS "validUntil"`,
        [id, memberId, minutes],
      );
      res.status(201).json({ vehicleId: id, vin: car.vin, memberId, validUntil: rows[0]!.validUntil.toISOString() });
    }),
    route(ops.endAccess, async ({ params: { id }, session }, _req, res) => {
      await vehicle(id);
      await db.query(
        'UPDATE vehicle_operator_access SET valid_until = greatest(granted_at, now()) WHERE vehicle_id = $1 AND member_id = $2 AND valid_until > now()',
        [id, session.memberId],
      );
      res.status(204).end();
    }),

    route(ops.plans, async (_input, _req, res) => {
      res.json({ items: await queries.plans(db) });
    }),
    route(ops.publishPlan, async ({ body: p, session }, _req, res) => {
      const { rows } = await db
        .query<Plan>(
          `INSERT INTO pricing_plans AS p (name, per_minute_fen, per_km_fen, daily_cap_fen, minimum_fen, reservation_fee_fen, hold_minutes,
           one_way_fee_fen, one_way_per_km_fen, deposit_fen, valid_from, valid_to, published_by, vehicle_model, station_id, time_zone, time_bands)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING ${PLAN_COLUMNS}`,
          [
            p.name,
            p.perMinuteFen,
            p.perKmFen,
            p.dailyCapFen,
            p.minimumFen,
            p.reservationFeeFen,
            p.holdMinutes,
            p.oneWayFeeFen,
            p.oneWayPerKmFen,
            p.depositFen,
            p.validFrom,
            p.validTo,
            session.memberId,
            p.vehicleModel,
            p.stationId,
            p.timeZone ?? ctx.config.PRICING_TIME_ZONE,
            JSON.stringify(p.timeBands),
          ],
        )
        .catch(fromConstraint);
      res.status(201).json(rows[0]);
    }),
    route(ops.applicablePlan, async ({ query: { model, stationId, at } }, _req, res) => {
      const found = await planInForce(db, { vehicleModel: model ?? null, stationId: stationId ?? null, ...(at ? { at: new Date(at) } : {}) });
      if (!found) {
        res.json({ plan: null, scope: null });
        return;
      }
      const { scope, ...plan } = found;
      res.json({ plan, scope });
    }),
    route(ops.rentalSettings, async (_input, _req, res) => {
      res.json(await rentalSettings(db));
    }),
    route(ops.updateRentalSettings, async ({ body, session }, _req, res) => {
      const { rows } = await db.query<RentalSettings>(
        `UPDATE rental_settings SET min_balance_fen = coalesce($1, min_balance_fen), min_soc_pct = coalesce($2, min_soc_pct),
           updated_by = $3, updated_at = now() RETURNING ${RENTAL_SETTINGS_COLUMNS}`,
        [body.minBalanceFen ?? null, body.minSocPct ?? null, session.memberId],
      );
      res.json(rows[0]);
    }),
    // Prices are immutable (rentals keep the plan they started under); only the end of validity moves.
    route(ops.updatePlan, async ({ params: { id }, body: { validTo } }, _req, res) => {
      const { rows: found } = await db.query<{ validFrom: Date }>('SELECT valid_from AS "validFrom" FROM pricing_plans WHERE id = $1', [id]);
      if (!found[0]) throw problems.notFound('No such pricing plan');
      if (validTo !== null && Date.parse(validTo) <= found[0].validFrom.getTime())
        throw problems.validation([{ name: 'body.validTo', reason: 'must be after validFrom' }]);
      const { rows } = await db.query<Plan>(`UPDATE pricing_plans p SET valid_to = $2 WHERE p.id = $1 RETURNING ${PLAN_COLUMNS}`, [id, validTo]);
      res.json(rows[0]);
    }),

    route(ops.reservations, async ({ query: q }, _req, res) => {
      res.json({ items: await queries.reservations(db, q) });
    }),
    route(ops.rentals, async ({ query: q }, _req, res) => {
      res.json({ items: await queries.rentals(db, q) });
    }),
  ];
}
