import type { Express, Request } from 'express';
import { Problem, mountRoutes, problems, route, sessionGuard, withTransaction, type Pool, type SessionStore } from '@evshare/kit';
import { chargingOperations as ops } from '@evshare/api';
import { pileAdminRoutes } from './pile-admin';
import { PileCallError } from './routing';
import { tariffSpans, type Tariff } from './tariff';

export interface ChargingApiContext {
  db: Pool;
  sessions: SessionStore;
  callPile(pileId: string, method: string, params: unknown): Promise<unknown>;
  planStation(stationId: string): Promise<unknown>;
  cancelAtPile(pileId: string, ocppId: number): Promise<string>;
  onBookingChange: (stationId: string) => void;
  /** For drawing a station's plan: the tariff, the cap of a station without one, the horizon. */
  tariff: Tariff;
  defaultCapW: number;
  horizonSlots: number;
  /** Against one member holding the piles: bookings at once, and how far ahead a slot may start. */
  bookingLimits: { perMember: number; horizonMs: number };
  /** Operators' plain-HTTP weather feeds (AMBIENT_FEED_ALLOW_HTTP). */
  allowHttpFeeds: boolean;
}

const SLOT_MS = 15 * 60_000;

const PILE_COLUMNS = `p.id, p.station_id AS "stationId", s.name AS "stationName", p.state, p.enabled, p.ocpp_status AS "ocppStatus", p.error_code AS "errorCode",
  p.max_power_w AS "maxPowerW", p.vendor, p.model, p.last_seen_at AS "lastSeenAt", p.vin, p.vehicle_id AS "vehicleId", v.plate, p.bound_at AS "boundAt",
  pc.energy_wh::float8 AS "energyWh", pc.power_w AS "powerW", pc.soc_pct::float AS "socPct", pc.measured_at AS "measuredAt"`;
const PILE_FROM = `FROM piles p JOIN stations s ON s.id = p.station_id LEFT JOIN vehicles v ON v.id = p.vehicle_id
  LEFT JOIN pile_connectors pc ON pc.pile_id = p.id AND pc.connector_id = 1`;
const RESERVATION_COLUMNS = `id, pile_id AS "pileId", station_id AS "stationId", member_id AS "memberId", vehicle_id AS "vehicleId", connector_id AS "connectorId",
  slot_start AS "slotStart", slot_end AS "slotEnd", status, energy_wh AS "energyWh", ocpp_id AS "ocppReservationId", failure, created_at AS "createdAt"`;

/** A pile that could not be reached or refused is a 502/504 naming the OCPP outcome. */
function pileProblem(error: unknown): Problem {
  if (error instanceof PileCallError) {
    if (error.code === 'Offline') return new Problem(409, 'pile-offline', 'Pile offline', error.message);
    if (error.code === 'Timeout') return new Problem(504, 'pile-timeout', 'Pile did not answer', error.message);
    if (
      [
        'FormatViolation',
        'FormationViolation',
        'TypeConstraintViolation',
        'PropertyConstraintViolation',
        'OccurenceConstraintViolation',
        'OccurrenceConstraintViolation',
        'ProtocolError',
      ].includes(error.code)
    ) {
      return new Problem(400, 'ocpp-invalid', 'Not a valid OCPP 1.6 request', error.message, { ocppError: error.code });
    }
    return new Problem(502, 'pile-error', 'Pile answered with an error', error.message, { ocppError: error.code });
  }
  throw error;
}

export function chargingRoutes(app: Express, ctx: ChargingApiContext): void {
  const { db, sessions } = ctx;
  const isAdmin = (req: Request) => req.session?.role === 'admin';

  const loadPile = async (id: string) => {
    const { rows } = await db.query<{ id: string; stationId: string; instanceId: string | null; enabled: boolean }>(
      'SELECT id, station_id AS "stationId", instance_id AS "instanceId", enabled FROM piles WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw problems.notFound(`No pile ${id}`);
    return rows[0];
  };
  const call = async (id: string, method: string, params: unknown) => {
    try {
      return await ctx.callPile(id, method, params);
    } catch (error) {
      throw pileProblem(error);
    }
  };
  // Inside a booking's transaction this must use that transaction's client: a second connection
  // taken from the pool per booking exhausts it under concurrent bookings (each waits for another).
  const memberCard = async (memberId: string, q: Pick<Pool, 'query'> = db) => {
    const { rows } = await q.query<{ uid: string }>('SELECT uid FROM membership_cards WHERE member_id = $1 ORDER BY bound_at LIMIT 1', [memberId]);
    return rows[0]?.uid;
  };

  const guard = sessionGuard({ sessions });
  pileAdminRoutes(app, { db, session: guard, onStationChange: ctx.onBookingChange, allowHttpFeeds: ctx.allowHttpFeeds });
  mountRoutes(
    app,
    [
      route(ops.piles, async ({ query }, req, res) => {
        const { rows } = await db.query<Record<string, unknown>>(
          `SELECT ${PILE_COLUMNS} ${PILE_FROM} WHERE ($1::uuid IS NULL OR p.station_id = $1) ORDER BY p.id`,
          [query.stationId ?? null],
        );
        // Which car stands where is for operators; members see the pile's availability.
        const items = isAdmin(req) ? rows : rows.map(({ vin: _vin, vehicleId: _vehicleId, plate: _plate, ...rest }) => rest);
        res.json({ items });
      }),

      route(ops.pile, async ({ params: { id } }, _req, res) => {
        const { rows } = await db.query(`SELECT ${PILE_COLUMNS} ${PILE_FROM} WHERE p.id = $1`, [id]);
        if (!rows[0]) throw problems.notFound(`No pile ${id}`);
        res.json(rows[0]);
      }),

      route(ops.availability, async ({ params: { id }, body }, _req, res) => {
        const pile = await loadPile(id);
        await db.query('UPDATE piles SET enabled = $2, updated_at = now() WHERE id = $1', [id, body.enabled]);
        ctx.onBookingChange(pile.stationId);
        // The switch is kept either way; an offline pile is told when it boots again.
        let pileStatus = 'Offline';
        try {
          const answer = (await ctx.callPile(id, 'ChangeAvailability', { connectorId: 0, type: body.enabled ? 'Operative' : 'Inoperative' })) as {
            status: string;
          };
          pileStatus = answer.status;
        } catch (error) {
          if (!(error instanceof PileCallError)) throw error;
          pileStatus = error.code === 'Offline' ? 'Offline' : `Error: ${error.code}`;
        }
        res.json({ id, enabled: body.enabled, pileStatus });
      }),

      route(ops.remoteStart, async ({ params: { id }, body }, req, res) => {
        const pile = await loadPile(id);
        if (!pile.enabled) throw problems.conflict('pile-disabled', `Pile ${id} is disabled`);
        // A member starts with their own card; an operator may name any tag.
        const idTag = isAdmin(req) && body.idTag ? body.idTag : await memberCard(req.session!.memberId);
        if (!idTag) throw problems.validation([{ name: 'body.idTag', reason: 'bind a membership card first (or, as an operator, name an idTag)' }]);
        const answer = await call(id, 'RemoteStartTransaction', { idTag, connectorId: body.connectorId ?? 1 });
        res.json({ id, idTag, status: (answer as { status: string }).status });
      }),

      route(ops.remoteStop, async ({ params: { id }, body }, req, res) => {
        await loadPile(id);
        const { rows } = await db.query<{ id: number; memberId: string | null }>(
          `SELECT id, member_id AS "memberId" FROM charging_transactions WHERE pile_id = $1 AND status = 'active' AND ($2::int IS NULL OR id = $2) ORDER BY id LIMIT 1`,
          [id, body.transactionId ?? null],
        );
        const tx = rows[0];
        if (!tx || (!isAdmin(req) && tx.memberId !== req.session!.memberId)) throw problems.notFound(`No charging session of yours at pile ${id}`);
        const answer = await call(id, 'RemoteStopTransaction', { transactionId: tx.id });
        res.json({ id, transactionId: tx.id, status: (answer as { status: string }).status });
      }),

      route(ops.ocppCall, async ({ params: { id, action }, body }, _req, res) => {
        await loadPile(id);
        res.json({ id, action, result: await call(id, action, body.params) });
      }),

      route(ops.pilePlan, async ({ params: { id } }, _req, res) => {
        await loadPile(id);
        const { rows } = await db.query('SELECT pile_id AS "pileId", planned_at AS "plannedAt", sent, plan FROM charging_plans WHERE pile_id = $1', [id]);
        res.json(rows[0] ?? { pileId: id, plan: null });
      }),

      route(ops.stationPlan, async ({ params: { id } }, _req, res) => {
        const station = await db.query<{ capW: number | null }>('SELECT charging_cap_w AS "capW" FROM stations WHERE id = $1', [id]);
        if (!station.rows[0]) throw problems.notFound(`No station ${id}`);
        const { rows } = await db.query<{ plan: { schedule?: { slots: Array<{ start: string }> } } | null }>(
          'SELECT pile_id AS "pileId", planned_at AS "plannedAt", sent, plan FROM charging_plans WHERE station_id = $1 ORDER BY pile_id',
          [id],
        );
        // The bands cover the plans' slots; without a plan, the horizon a plan made now would have.
        const starts = rows.flatMap((row) => row.plan?.schedule?.slots.map((slot) => Date.parse(slot.start)) ?? []);
        const from = starts.length > 0 ? Math.min(...starts) : Math.floor(Date.now() / SLOT_MS) * SLOT_MS;
        const to = starts.length > 0 ? Math.max(...starts) + SLOT_MS : from + ctx.horizonSlots * SLOT_MS;
        res.json({ stationId: id, capW: station.rows[0].capW ?? ctx.defaultCapW, tariff: tariffSpans(ctx.tariff, from, to), items: rows });
      }),

      route(ops.planStation, async ({ params: { id } }, _req, res) => {
        const { rowCount } = await db.query('SELECT 1 FROM stations WHERE id = $1', [id]);
        if (!rowCount) throw problems.notFound(`No station ${id}`);
        const result = await ctx.planStation(id);
        if (result === undefined) throw problems.conflict('plan-in-progress', 'Another instance is planning this station; try again shortly');
        res.json(result);
      }),

      route(ops.book, async ({ body }, req, res) => {
        if (body.memberId && !isAdmin(req)) throw problems.forbidden('Only operators book for another member');
        if (Date.parse(body.slotEnd) <= Date.now()) throw problems.validation([{ name: 'body.slotEnd', reason: 'must be in the future' }]);
        const memberId = isAdmin(req) ? (body.memberId ?? null) : req.session!.memberId;
        const { perMember, horizonMs } = ctx.bookingLimits;
        if (!isAdmin(req) && Date.parse(body.slotStart) > Date.now() + horizonMs) {
          const days = Math.round((horizonMs / 86_400_000) * 10) / 10;
          throw new Problem(422, 'booking-horizon', 'Beyond the booking horizon', `A slot may start at most ${days} days ahead`, {
            invalidParams: [{ name: 'body.slotStart', reason: `must be at most ${days} days from now` }],
            horizonMs,
          });
        }
        const reservation = await withTransaction(db, async (tx) => {
          if (!isAdmin(req)) {
            // One member's bookings are counted and added one at a time (they may be at any pile).
            await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('charging-bookings:' || $1, 0))`, [req.session!.memberId]);
            const held = await tx.query<{ count: number }>(
              `SELECT count(*)::int AS count FROM charging_reservations WHERE member_id = $1 AND status IN ('booked', 'reserved', 'charging') AND slot_end > now()`,
              [req.session!.memberId],
            );
            if (held.rows[0]!.count >= perMember) {
              throw new Problem(
                409,
                'booking-limit',
                'Too many bookings',
                `A member may hold at most ${perMember} charging bookings at once; cancel one first`,
                {
                  invalidParams: [{ name: 'session.memberId', reason: `already holds ${held.rows[0]!.count} bookings (at most ${perMember})` }],
                  limit: perMember,
                },
              );
            }
          }
          const pile = await tx.query<{ stationId: string; enabled: boolean }>(
            'SELECT station_id AS "stationId", enabled FROM piles WHERE id = $1 FOR UPDATE',
            [body.pileId],
          );
          if (!pile.rows[0]) throw problems.validation([{ name: 'body.pileId', reason: 'no such pile' }]);
          if (!pile.rows[0].enabled) throw problems.conflict('pile-disabled', `Pile ${body.pileId} is disabled`);
          if (body.vehicleId) {
            const vehicle = await tx.query('SELECT 1 FROM vehicles WHERE id = $1', [body.vehicleId]);
            if (!vehicle.rowCount) throw problems.validation([{ name: 'body.vehicleId', reason: 'no such vehicle' }]);
          }
          // The pile row lock serialises bookings of one pile, so two cannot overlap.
          const overlap = await tx.query(
            `SELECT 1 FROM charging_reservations WHERE pile_id = $1 AND connector_id = $2 AND status IN ('booked', 'reserved', 'charging') AND slot_start < $4 AND slot_end > $3`,
            [body.pileId, body.connectorId, body.slotStart, body.slotEnd],
          );
          if (overlap.rowCount) throw problems.conflict('slot-taken', 'The pile is booked for part of that time');
          const card = memberId ? await memberCard(memberId, tx) : undefined;
          const { rows } = await tx.query<{ id: string; ocppReservationId: number; stationId: string }>(
            `INSERT INTO charging_reservations (pile_id, station_id, member_id, vehicle_id, connector_id, slot_start, slot_end, energy_wh, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${RESERVATION_COLUMNS}`,
            [
              body.pileId,
              pile.rows[0].stationId,
              memberId,
              body.vehicleId ?? null,
              body.connectorId,
              body.slotStart,
              body.slotEnd,
              body.energyWh ?? null,
              req.session!.memberId,
            ],
          );
          const row = rows[0]!;
          // Without a card, the booking's own token (good at this pile only) starts the session.
          const idTag = card ?? `EVSR${row.ocppReservationId}`;
          await tx.query('UPDATE charging_reservations SET id_tag = $2 WHERE id = $1', [row.id, idTag]);
          return { ...row, idTag };
        });
        ctx.onBookingChange(reservation.stationId);
        res.status(201).json(reservation);
      }),

      route(ops.reservations, async (_input, req, res) => {
        const { rows } = await db.query(
          `SELECT ${RESERVATION_COLUMNS} FROM charging_reservations WHERE ($1::uuid IS NULL OR member_id = $1) ORDER BY slot_start DESC LIMIT 200`,
          [isAdmin(req) ? null : req.session!.memberId],
        );
        res.json({ items: rows });
      }),

      route(ops.cancel, async ({ params: { id } }, req, res) => {
        const { rows } = await db.query<{ pileId: string; stationId: string; ocppId: number; before: string; memberId: string | null }>(
          `UPDATE charging_reservations r SET status = 'cancelled', ended_at = now()
           FROM (SELECT id, status AS before FROM charging_reservations WHERE id = $1 FOR UPDATE) old
           WHERE r.id = old.id AND r.status IN ('booked', 'reserved') AND ($2::uuid IS NULL OR r.member_id = $2)
           RETURNING r.pile_id AS "pileId", r.station_id AS "stationId", r.ocpp_id AS "ocppId", old.before, r.member_id AS "memberId"`,
          [id, isAdmin(req) ? null : req.session!.memberId],
        );
        const row = rows[0];
        if (!row) {
          const exists = await db.query<{ status: string; memberId: string | null }>(
            'SELECT status, member_id AS "memberId" FROM charging_reservations WHERE id = $1',
            [id],
          );
          const found = exists.rows[0];
          if (!found || (!isAdmin(req) && found.memberId !== req.session!.memberId)) throw problems.notFound('No such reservation');
          throw problems.conflict('reservation-not-active', `The reservation is ${found.status}`);
        }
        const pileStatus = row.before === 'reserved' ? await ctx.cancelAtPile(row.pileId, row.ocppId) : undefined;
        ctx.onBookingChange(row.stationId);
        res.json({ id, status: 'cancelled', ...(pileStatus ? { pileStatus } : {}) });
      }),

      route(ops.transactions, async (_input, req, res) => {
        const { rows } = await db.query(
          `SELECT id, pile_id AS "pileId", connector_id AS "connectorId", member_id AS "memberId", vehicle_id AS "vehicleId", started_at AS "startedAt",
                  stopped_at AS "stoppedAt", energy_wh::float8 AS "energyWh", amount_fen::float8 AS "amountFen", status, stop_reason AS "stopReason", anomalies
           FROM charging_transactions WHERE ($1::uuid IS NULL OR member_id = $1) ORDER BY id DESC LIMIT 200`,
          [isAdmin(req) ? null : req.session!.memberId],
        );
        res.json({ items: rows });
      }),
    ],
    { session: guard },
  );
}
