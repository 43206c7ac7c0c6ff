import { randomUUID } from 'node:crypto';
import {
  Problem,
  deductionSubject,
  problems,
  withTransaction,
  type Bus,
  type DeductionMessage,
  type KeyValueStore,
  type Logger,
  type Pool,
  type VehicleAck,
  type VehicleCommand,
} from '@evshare/kit';
import type { MemberRepository } from '../members';
import { notifyMember } from '../notifications';
import { createVehicleCommander } from './commands';
import type { RentalConfig } from './config';
import { chargeRefusal, eligibilityRefusal, formatYuan, lockEligibility, type Eligibility } from './eligibility';
import {
  PLAN_COLUMNS,
  RENTAL_COLUMNS,
  RESERVATION_COLUMNS,
  VEHICLE_COLUMNS,
  planInForce,
  rentalSettings,
  type Plan,
  type Queryable,
  type Rental,
  type Reservation,
  type Vehicle,
} from './model';
import { computeFee, type FeeBreakdown } from '@evshare/pricing';
import { checkReturn, distanceM, type ReturnRefusal, type ReturnStation, type ReturningVehicle } from './return-rules';
import { checkTransition, type VehicleState } from './vehicle-state';
import { createRentalNotices } from './notices';

export interface RentalDeps {
  db: Pool;
  bus: Bus;
  cache: KeyValueStore;
  log: Logger;
  members: MemberRepository;
  config: RentalConfig;
  /** Who asks for the deductions (the APP instance). */
  requestedBy: string;
}

export interface ReturnQuote {
  rentalId: string;
  stationId: string;
  oneWay: boolean;
  price: FeeBreakdown;
  refusals: ReturnRefusal[];
  canReturn: boolean;
}

/** A stuck `unlocking` rental (its instance died while waiting) is rolled back after this margin. */
const STUCK_UNLOCK_MARGIN_MS = 30_000;
/** An outbox entry still unpublished after this long was left by a crash or a bus outage. */
const OUTBOX_RETRY_AFTER_S = 10;
/** A reinstated reservation (its car never unlocked) keeps at least this long to try again. */
const REINSTATED_HOLD_MINUTES = 2;
/** How long the safety lock sent after a failed unlock stays valid for the car. */
const SAFETY_LOCK_VALID_MS = 60_000;

const conflict = (slug: string, detail: string, extra: Record<string, unknown> = {}) => new Problem(409, slug, 'Conflict', detail, extra);
const busy = (detail: string) => conflict('member-busy', detail);
const vehicleUnavailable = (vehicle: Pick<Vehicle, 'state' | 'plate'>) =>
  conflict('vehicle-unavailable', `The car ${vehicle.plate} is ${vehicle.state.replace('_', ' ')}, not available; choose another car`, {
    state: vehicle.state,
  });

/** What a member may ask of the car they rent. */
export type MemberCarAction = 'unlock' | 'lock' | 'locate';

/** How long to wait for the car's requested report to reach the database (telematics batches telemetry). */
const REPORT_ARRIVAL_MS = 3_000;

/**
 * The problem for a command the car did not carry out (operators' and members' commands and the
 * platform's lock at return share them); `outcome` says what it means for the member.
 */
function commandProblem(ack: VehicleAck | undefined, action: string, outcome = ''): Problem {
  const then = outcome ? `; ${outcome}` : '';
  if (!ack)
    return new Problem(504, 'vehicle-timeout', 'Gateway timeout', `The car did not acknowledge the ${action} command in time; it expires unexecuted${then}`);
  if (ack.reason === 'offline') return conflict('vehicle-offline', `The car has no connection right now; the ${action} command was not sent${then}`);
  return conflict('vehicle-refused', `The car refused the ${action} command${ack.reason ? `: ${ack.reason}` : ''}${then}`);
}

/** Unique-index violations are the constraints' last word on a race the locks did not see. */
function fromUniqueViolation(error: unknown): never {
  const { code, constraint } = error as { code?: string; constraint?: string };
  if (code === '23505' && constraint?.endsWith('_one_per_member')) throw busy('You already hold a reservation or a rental');
  if (code === '23505' && constraint?.endsWith('_one_per_vehicle'))
    throw conflict('vehicle-unavailable', 'The car was just taken by someone else; choose another car');
  throw error;
}

export function createRentalService(deps: RentalDeps) {
  const { db, bus, cache, log, members, config, requestedBy } = deps;
  const notices = createRentalNotices({ db, bus, cache, log });
  const commander = createVehicleCommander(bus, log, config.UNLOCK_RESEND_MS);

  async function lockVehicle(c: Queryable, vehicleId: string): Promise<Vehicle> {
    const { rows } = await c.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1 FOR UPDATE`, [vehicleId]);
    if (!rows[0]) throw problems.notFound('No such car');
    return rows[0];
  }

  /** Moves a locked car through the state machine; the WHERE names the state it was read in. */
  async function transition(c: Queryable, vehicle: Vehicle, to: VehicleState, stationId: string | null): Promise<void> {
    const check = checkTransition(vehicle.state, to);
    if (!check.ok) throw conflict(check.reason, check.detail);
    const { rowCount } = await c.query(
      'UPDATE vehicles SET state = $3, station_id = $4, version = version + 1, updated_at = now() WHERE id = $1 AND state = $2',
      [vehicle.id, vehicle.state, to, stationId],
    );
    if (!rowCount) throw vehicleUnavailable(vehicle);
  }

  /**
   * The checks common to reserving and renting, in a transaction: the member row is locked (one
   * member's attempts are serialised) and the member must hold nothing else (except the
   * reservation being taken up). The checks that depend on the car follow in admitCar.
   */
  async function admit(c: Queryable, memberId: string) {
    const member = await lockEligibility(c, memberId);
    if (!member) throw problems.unauthenticated('The account no longer exists');
    const { rows } = await c.query<{ reservationId: string | null; reservedVehicleId: string | null; rentalId: string | null }>(
      `SELECT (SELECT id FROM reservations WHERE member_id = $1 AND status = 'active') AS "reservationId",
              (SELECT vehicle_id FROM reservations WHERE member_id = $1 AND status = 'active') AS "reservedVehicleId",
              (SELECT id FROM rentals WHERE member_id = $1 AND status IN ('unlocking', 'active')) AS "rentalId"`,
      [memberId],
    );
    const hold = rows[0]!;
    if (hold.rentalId) throw busy('You already have a rental in progress; return the car first');
    return { member, hold };
  }

  /**
   * The checks that depend on the car, at every reservation and rental start: the plan that
   * prices it now (the most specific in force for its model and station), the member's
   * eligibility under that plan and the fleet's minimum balance, and the car's charge.
   */
  async function admitCar(c: Queryable, member: Eligibility, vehicle: Vehicle): Promise<Plan> {
    const plan = await planInForce(c, { vehicleModel: vehicle.model, stationId: vehicle.stationId });
    if (!plan) throw conflict('no-pricing-plan', 'No pricing plan is in force, so nothing can be rented now');
    const settings = await rentalSettings(c);
    const refusal = eligibilityRefusal(member, { depositFen: plan.depositFen, minBalanceFen: settings.minBalanceFen }, new Date().toISOString().slice(0, 10));
    if (refusal) throw new Problem(403, refusal.reason, 'Not allowed to rent', refusal.detail, { reason: refusal.reason });
    const lowCharge = chargeRefusal(vehicle, settings.minSocPct);
    if (lowCharge) throw conflict(lowCharge.reason, lowCharge.detail, { socPct: vehicle.socPct, minSocPct: settings.minSocPct });
    return plan;
  }

  async function lockReservation(c: Queryable, reservationId: string, memberId: string): Promise<Reservation & { due: boolean }> {
    const { rows } = await c.query<Reservation & { due: boolean }>(
      `SELECT ${RESERVATION_COLUMNS}, r.expires_at <= now() AS due FROM reservations r WHERE r.id = $1 FOR UPDATE`,
      [reservationId],
    );
    const reservation = rows[0];
    // Another member's reservation is indistinguishable from a missing one.
    if (!reservation || reservation.memberId !== memberId) throw problems.notFound('No such reservation');
    if (reservation.status !== 'active') throw conflict('reservation-not-active', `The reservation is ${reservation.status}`, { current: reservation.status });
    if (reservation.due) {
      throw conflict('reservation-expired', `The reservation expired at ${reservation.expiresAt.toISOString()}; the car is being released`);
    }
    return reservation;
  }

  async function reserve(memberId: string, vehicleId: string): Promise<Reservation> {
    const reservation = await withTransaction(db, async (c) => {
      const { member, hold } = await admit(c, memberId);
      if (hold.reservationId) throw busy('You already hold a reservation; cancel it or rent that car');
      const vehicle = await lockVehicle(c, vehicleId);
      if (vehicle.state !== 'available' || !vehicle.stationId) throw vehicleUnavailable(vehicle);
      const plan = await admitCar(c, member, vehicle);
      await transition(c, vehicle, 'reserved', vehicle.stationId);
      const { rows } = await c.query<Reservation>(
        `INSERT INTO reservations AS r (member_id, vehicle_id, station_id, plan_id, expires_at, fee_fen)
         VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5), $6) RETURNING ${RESERVATION_COLUMNS}`,
        [memberId, vehicle.id, vehicle.stationId, plan.id, plan.holdMinutes, plan.reservationFeeFen],
      );
      return rows[0]!;
    }).catch(fromUniqueViolation);
    await members.changed(memberId);
    return reservation;
  }

  /** Cancelling in time is free; after the hold ran out the expiry (and its fee) stands. */
  async function cancelReservation(memberId: string, reservationId: string): Promise<Reservation> {
    const reservation = await withTransaction(db, async (c) => {
      const current = await lockReservation(c, reservationId, memberId);
      const { rows } = await c.query<Reservation>(
        `UPDATE reservations r SET status = 'cancelled', ended_at = now() WHERE r.id = $1 RETURNING ${RESERVATION_COLUMNS}`,
        [current.id],
      );
      await transition(c, await lockVehicle(c, current.vehicleId), 'available', current.stationId);
      return rows[0]!;
    });
    await members.changed(memberId);
    return reservation;
  }

  /**
   * Starts a rental: walk-up ({vehicleId}; a car the member reserved is taken up) or from a
   * reservation. The car is taken and the rental recorded as `unlocking` in one transaction;
   * then the unlock command goes out and, without a positive acknowledgement in time, all of it
   * is rolled back. No database connection is held while waiting for the car.
   */
  async function startRental(memberId: string, target: { vehicleId: string } | { reservationId: string }): Promise<Rental> {
    const { rental, vin } = await withTransaction(db, async (c) => {
      const { member, hold } = await admit(c, memberId);
      let reservation: Reservation | undefined;
      if ('reservationId' in target) reservation = await lockReservation(c, target.reservationId, memberId);
      else if (hold.reservationId) {
        if (hold.reservedVehicleId !== target.vehicleId) throw busy('You hold a reservation for another car; rent that one or cancel the reservation first');
        reservation = await lockReservation(c, hold.reservationId, memberId);
      }
      const vehicle = await lockVehicle(c, reservation?.vehicleId ?? (target as { vehicleId: string }).vehicleId);
      if (vehicle.state !== (reservation ? 'reserved' : 'available') || !vehicle.stationId) throw vehicleUnavailable(vehicle);
      // Priced by the plan in force at the start, whichever priced the reservation.
      const plan = await admitCar(c, member, vehicle);
      await transition(c, vehicle, 'in_use', null);
      if (reservation) await c.query(`UPDATE reservations SET status = 'converted', ended_at = now() WHERE id = $1`, [reservation.id]);
      const { rows } = await c.query<Rental>(
        `INSERT INTO rentals AS t (member_id, vehicle_id, reservation_id, plan_id, start_station_id, start_odometer_m, start_soc_pct, unlock_command_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${RENTAL_COLUMNS}`,
        [memberId, vehicle.id, reservation?.id ?? null, plan.id, vehicle.stationId, vehicle.odometerM, vehicle.socPct, randomUUID()],
      );
      return { rental: rows[0]!, vin: vehicle.vin };
    }).catch(fromUniqueViolation);
    await members.changed(memberId);

    const ack = await commander.send({ commandId: rental.unlockCommandId, vin, action: 'unlock' }, config.UNLOCK_ACK_TIMEOUT_MS);
    if (ack?.ok) {
      const { rows } = await db.query<Rental>(`UPDATE rentals t SET status = 'active' WHERE t.id = $1 AND t.status = 'unlocking' RETURNING ${RENTAL_COLUMNS}`, [
        rental.id,
      ]);
      await members.changed(memberId);
      if (rows[0]) {
        await notices.rentalStarted(rows[0]);
        return rows[0];
      }
    } else await rollbackUnlock(rental.id);
    // The vehicle link answers for a car with no connection at once (docs/vehicles.md).
    if (ack && !ack.ok && ack.reason === 'offline') {
      throw conflict(
        'vehicle-offline',
        'The car has no connection right now, so it cannot be unlocked remotely; the rental was cancelled and nothing is charged. A member with a reservation can unlock it with their card at the car',
      );
    }
    if (ack && !ack.ok) {
      throw conflict('unlock-refused', `The car refused to unlock${ack.reason ? ` (${ack.reason})` : ''}; the rental was cancelled and nothing is charged`);
    }
    const seconds = Math.round(config.UNLOCK_ACK_TIMEOUT_MS / 1000);
    throw new Problem(
      504,
      'unlock-timeout',
      'The car did not answer',
      `The car did not confirm the unlock within ${seconds} s; the rental was cancelled and nothing is charged. Try again or choose another car`,
    );
  }

  /**
   * Undoes a rental whose car never confirmed the unlock: the rental is marked failed, the car
   * goes back to where it was (reserved again when it came from a reservation, which keeps a
   * short hold so the member can retry), and a lock command makes sure a late unlock is undone.
   * Restoring the earlier state is an undo, not a state-machine transition.
   */
  async function rollbackUnlock(rentalId: string): Promise<void> {
    const undone = await withTransaction(db, async (c) => {
      const { rows } = await c.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.id = $1 FOR UPDATE`, [rentalId]);
      const rental = rows[0];
      if (rental?.status !== 'unlocking') return undefined;
      await c.query(`UPDATE rentals SET status = 'failed' WHERE id = $1`, [rental.id]);
      if (rental.reservationId) {
        await c.query(
          `UPDATE reservations SET status = 'active', ended_at = NULL, expires_at = greatest(expires_at, now() + make_interval(mins => $2))
            WHERE id = $1 AND status = 'converted'`,
          [rental.reservationId, REINSTATED_HOLD_MINUTES],
        );
      }
      const { rows: cars } = await c.query<{ vin: string }>(
        `UPDATE vehicles SET state = $2, station_id = $3, version = version + 1, updated_at = now() WHERE id = $1 AND state = 'in_use' RETURNING vin`,
        [rental.vehicleId, rental.reservationId ? 'reserved' : 'available', rental.startStationId],
      );
      return { rental, vin: cars[0]?.vin };
    });
    if (!undone) return;
    if (undone.vin) commander.fire({ commandId: randomUUID(), vin: undone.vin, action: 'lock' }, SAFETY_LOCK_VALID_MS);
    await members.changed(undone.rental.memberId);
  }

  /** Reads (and in a transaction locks) what a return at `stationId` depends on, and prices it. */
  async function prepareReturn(c: Queryable, memberId: string, rentalId: string, stationId: string, lock: boolean, view: Partial<ReturningVehicle> = {}) {
    const forUpdate = lock ? 'FOR UPDATE' : '';
    const { rows: rentals } = await c.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.id = $1 ${forUpdate}`, [rentalId]);
    const rental = rentals[0];
    if (!rental || rental.memberId !== memberId) throw problems.notFound('No such rental');
    if (rental.status !== 'active') throw conflict('rental-not-active', `The rental is ${rental.status}`, { current: rental.status });
    const { rows: stations } = await c.query<Omit<ReturnStation, 'parked'>>(
      `SELECT id, name, lat, lng, geofence_radius_m AS "geofenceRadiusM", capacity, return_policy AS "returnPolicy",
              EXISTS (SELECT 1 FROM piles p WHERE p.station_id = s.id) AS "hasPiles" FROM stations s WHERE id = $1 ${forUpdate}`,
      [stationId],
    );
    if (!stations[0]) throw problems.notFound('No such station');
    const { rows: counts } = await c.query<{ parked: number; now: Date }>('SELECT count(*)::int AS parked, now() AS now FROM vehicles WHERE station_id = $1', [
      stationId,
    ]);
    const station: ReturnStation = { ...stations[0], parked: counts[0]!.parked };
    const { rows: vehicles } = await c.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1 ${forUpdate}`, [rental.vehicleId]);
    const vehicle = vehicles[0]!;
    const { rows: plans } = await c.query<Plan>(`SELECT ${PLAN_COLUMNS} FROM pricing_plans p WHERE p.id = $1`, [rental.planId]);
    const { rows: starts } = await c.query<{ lat: number; lng: number }>('SELECT lat, lng FROM stations WHERE id = $1', [rental.startStationId]);
    const oneWay = station.id !== rental.startStationId;
    const endedAt = counts[0]!.now;
    // An odometer that went backwards (a replaced terminal) must not produce a negative fee.
    const driven = Math.max(0, vehicle.odometerM - rental.startOdometerM);
    const price = computeFee(plans[0]!, {
      startedAt: rental.startedAt,
      endedAt,
      distanceM: driven,
      oneWay: oneWay ? { stationDistanceM: Math.round(distanceM(starts[0]!, station)) } : null,
    });
    return { rental, station, vehicle, price, endedAt, oneWay, refusals: checkReturn(rental.startStationId, station, { ...vehicle, ...view }) };
  }

  const isFresh = (vehicle: Pick<Vehicle, 'reportedAt'>) =>
    vehicle.reportedAt !== null && Date.now() - vehicle.reportedAt.getTime() <= config.RETURN_REPORT_MAX_AGE_MS;
  /** Closed doors are no obstacle: the return locks them. */
  const lockableView = (vehicle: Vehicle): Partial<ReturningVehicle> => ({ doorsLocked: vehicle.doorsLocked || !vehicle.doorsOpen });
  const refused = (refusals: ReturnRefusal[]) => {
    const first = refusals[0];
    return first ? new Problem(409, first.reason, 'The car cannot be returned here', first.detail, { reason: first.reason, refusals }) : undefined;
  };

  /** The quote assumes the return's own steps: an online car is asked for a fresh report, closed doors are locked. */
  async function quoteReturn(memberId: string, rentalId: string, stationId: string): Promise<ReturnQuote> {
    const { rows } = await db.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v JOIN rentals t ON t.vehicle_id = v.id WHERE t.id = $1`, [rentalId]);
    const car = rows[0];
    const view = car ? { ...lockableView(car), fresh: car.online || isFresh(car) } : {};
    const { rental, price, oneWay, refusals } = await prepareReturn(db, memberId, rentalId, stationId, false, view);
    return { rentalId: rental.id, stationId, oneWay, price, refusals, canReturn: refusals.length === 0 };
  }

  /** The car's row once a report newer than `since` arrived, or undefined after REPORT_ARRIVAL_MS. */
  async function reportAfter(vehicleId: string, since: number): Promise<Vehicle | undefined> {
    for (const deadline = Date.now() + REPORT_ARRIVAL_MS; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const { rows } = await db.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1`, [vehicleId]);
      if (rows[0]?.reportedAt && rows[0].reportedAt.getTime() >= since - 1_000) return rows[0];
    }
    return undefined;
  }

  /**
   * The end-of-trip steps before the return's transaction: a car whose last report is older than
   * RETURN_REPORT_MAX_AGE_MS is asked for a fresh one; if everything else allows the return and
   * the doors are closed but unlocked, the car is locked and its acknowledgement awaited. No
   * database connection is held while waiting for the car. Returns what the checks then assume.
   */
  async function endOfTrip(memberId: string, rentalId: string, stationId: string): Promise<Partial<ReturningVehicle>> {
    const { rental, vehicle: read } = await prepareReturn(db, memberId, rentalId, stationId, false);
    let vehicle: Vehicle | undefined = read;
    if (!isFresh(vehicle)) {
      const since = Date.now();
      const ack = await commander.send({ commandId: randomUUID(), vin: read.vin, action: 'report' }, config.UNLOCK_ACK_TIMEOUT_MS);
      vehicle = ack?.ok ? await reportAfter(read.id, since) : undefined;
      if (!vehicle) return { fresh: false };
    }
    const problem = refused((await prepareReturn(db, memberId, rental.id, stationId, false, lockableView(vehicle))).refusals);
    if (problem) throw problem;
    if (vehicle.doorsLocked) return {};
    const ack = await commander.send({ commandId: randomUUID(), vin: vehicle.vin, action: 'lock' }, config.UNLOCK_ACK_TIMEOUT_MS);
    if (!ack?.ok) throw commandProblem(ack, 'lock', 'the car is not locked and the rental goes on; try again');
    // The car's acknowledgement is its word that it is locked; its next report says so too.
    return { doorsLocked: true };
  }

  /** Ends the rental after the end-of-trip checks, then asks billing for the fee (and the one-way fee). */
  async function returnRental(memberId: string, rentalId: string, stationId: string): Promise<Rental> {
    const view = await endOfTrip(memberId, rentalId, stationId);
    const { ended, deductions, plate } = await withTransaction(db, async (c) => {
      const { rental, station, vehicle, price, endedAt, refusals } = await prepareReturn(c, memberId, rentalId, stationId, true, view);
      const problem = refused(refusals);
      if (problem) throw problem;
      await transition(c, vehicle, 'available', station.id);
      const { rows } = await c.query<Rental>(
        `UPDATE rentals t SET status = 'ended', ended_at = $2, end_station_id = $3, end_odometer_m = $4, end_soc_pct = $5, price = $6, total_fen = $7
          WHERE t.id = $1 RETURNING ${RENTAL_COLUMNS}`,
        [rental.id, endedAt, station.id, vehicle.odometerM, vehicle.socPct, JSON.stringify(price), price.totalFen],
      );
      const at = endedAt.toISOString();
      const base = { memberId, rentalId: rental.id, requestedBy, at };
      const messages: DeductionMessage[] = [];
      const usageFen = price.totalFen - price.oneWayFen;
      if (usageFen > 0)
        messages.push({
          ...base,
          reference: `rental:${rental.id}:rental`,
          kind: 'rental',
          amountFen: usageFen,
          description: `Rental of ${vehicle.plate}, ${price.minutes} min, ${(price.distanceM / 1000).toFixed(1)} km`,
        });
      if (price.oneWayFen > 0)
        messages.push({
          ...base,
          reference: `rental:${rental.id}:one-way`,
          kind: 'one-way-fee',
          amountFen: price.oneWayFen,
          description: `One-way return of ${vehicle.plate} at ${station.name}`,
        });
      await recordDeductions(c, messages);
      return { ended: rows[0]!, deductions: messages, plate: vehicle.plate };
    });
    // The bill before the fee's receipt (billing answers the deduction within milliseconds).
    await notices.rentalEnded(ended, plate);
    await publishDeductions(deductions);
    await members.changed(memberId);
    return ended;
  }

  async function recordDeductions(c: Queryable, messages: DeductionMessage[]): Promise<void> {
    for (const message of messages) {
      await c.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [
        message.reference,
        JSON.stringify(message),
      ]);
    }
  }

  /** Publishes committed fees; one the bus refuses now stays in the outbox for the sweep. */
  async function publishDeductions(messages: DeductionMessage[]): Promise<void> {
    const published: string[] = [];
    for (const message of messages) {
      try {
        await bus.publishDurable(deductionSubject(message.kind), message, message.reference);
        published.push(message.reference);
      } catch (error) {
        log.warn({ err: error, reference: message.reference }, 'deduction not published yet; the sweep will retry');
      }
    }
    if (published.length > 0) await db.query('UPDATE rental_deduction_outbox SET published_at = now() WHERE reference = ANY($1)', [published]);
  }

  /**
   * Expires due reservations in one statement: rows another instance is already expiring are
   * skipped (SKIP LOCKED), so each expires once and its fee is recorded once, under a reference
   * that the stream and the ledger both deduplicate.
   */
  async function expireReservations(): Promise<number> {
    const { expired, deductions } = await withTransaction(db, async (c) => {
      const { rows } = await c.query<{ id: string; memberId: string; feeFen: number; at: Date; plate: string }>(
        `WITH due AS (
           SELECT id FROM reservations WHERE status = 'active' AND expires_at <= now() ORDER BY expires_at LIMIT 200 FOR UPDATE SKIP LOCKED
         ), expired AS (
           UPDATE reservations r SET status = 'expired', ended_at = now() FROM due WHERE r.id = due.id
           RETURNING r.id, r.member_id, r.vehicle_id, r.fee_fen, r.ended_at
         ), released AS (
           UPDATE vehicles v SET state = 'available', version = v.version + 1, updated_at = now()
             FROM expired e WHERE v.id = e.vehicle_id AND v.state = 'reserved' RETURNING v.id, v.plate
         )
         SELECT e.id, e.member_id AS "memberId", e.fee_fen AS "feeFen", e.ended_at AS at, coalesce(rel.plate, '') AS plate
           FROM expired e LEFT JOIN released rel ON rel.id = e.vehicle_id`,
      );
      const messages: DeductionMessage[] = rows
        .filter((r) => r.feeFen > 0)
        .map((r) => ({
          reference: `reservation:${r.id}:fee`,
          memberId: r.memberId,
          kind: 'reservation-fee',
          amountFen: r.feeFen,
          description: `Reservation of ${r.plate} expired unused`,
          reservationId: r.id,
          requestedBy,
          at: r.at.toISOString(),
        }));
      await recordDeductions(c, messages);
      return { expired: rows, deductions: messages };
    });
    await publishDeductions(deductions);
    for (const reservation of expired) {
      await notifyMember({ db, cache, bus }, reservation.memberId, {
        kind: 'reservation.expired',
        title: reservation.feeFen > 0 ? `Reservation expired: ${formatYuan(reservation.feeFen)} fee` : 'Reservation expired',
        body: { reservationId: reservation.id, feeFen: reservation.feeFen },
      });
      await members.changed(reservation.memberId);
    }
    return expired.length;
  }

  /** Rolls back rentals whose instance died while waiting for the unlock acknowledgement. */
  async function rollbackStuckUnlocks(): Promise<void> {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM rentals WHERE status = 'unlocking' AND started_at < now() - make_interval(secs => $1) LIMIT 100`,
      [(config.UNLOCK_ACK_TIMEOUT_MS + STUCK_UNLOCK_MARGIN_MS) / 1000],
    );
    for (const { id } of rows) await rollbackUnlock(id);
  }

  /** Publishes fees a crash or a bus outage left in the outbox (duplicates are harmless). */
  async function republishOutbox(): Promise<void> {
    const { rows } = await db.query<{ message: DeductionMessage }>(
      `SELECT message FROM rental_deduction_outbox WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100`,
      [OUTBOX_RETRY_AFTER_S],
    );
    await publishDeductions(rows.map((r) => r.message));
  }

  /**
   * An operator's remote command to a car (lock, unlock, immobilise) through the vehicle link; the
   * car's acknowledgement is the answer. Not allowed while a member holds the car (their rental
   * or reservation decides its doors).
   */
  async function commandVehicle(vehicleId: string, action: VehicleCommand['action']): Promise<{ commandId: string; vin: string; action: string; ok: true }> {
    const { rows } = await db.query<Vehicle & { vin: string }>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1`, [vehicleId]);
    const vehicle = rows[0];
    if (!vehicle) throw problems.notFound('No such car');
    if (action !== 'lock' && (vehicle.state === 'reserved' || vehicle.state === 'in_use')) {
      throw conflict('vehicle-busy', `The car is ${vehicle.state.replace('_', ' ')} by a member; only a lock may be sent until that ends`, {
        state: vehicle.state,
      });
    }
    const commandId = randomUUID();
    const ack = await commander.send({ commandId, vin: vehicle.vin, action }, config.UNLOCK_ACK_TIMEOUT_MS);
    if (!ack?.ok) throw commandProblem(ack, action);
    log.info({ vehicleId, vin: vehicle.vin, action, commandId, requestedBy }, 'operator command acknowledged');
    return { commandId, vin: vehicle.vin, action, ok: true };
  }

  /**
   * The renting member's own command to the car (unlock, lock, locate: horn and lights), only
   * while their rental is active; another member's rental is indistinguishable from a missing one.
   */
  async function commandRentedVehicle(
    memberId: string,
    rentalId: string,
    action: MemberCarAction,
  ): Promise<{ commandId: string; rentalId: string; action: MemberCarAction; ok: true }> {
    const { rows } = await db.query<{ memberId: string; status: string; vin: string }>(
      `SELECT t.member_id AS "memberId", t.status, v.vin FROM rentals t JOIN vehicles v ON v.id = t.vehicle_id WHERE t.id = $1`,
      [rentalId],
    );
    const rental = rows[0];
    if (!rental || rental.memberId !== memberId) throw problems.notFound('No such rental');
    if (rental.status !== 'active')
      throw conflict('rental-not-active', `The rental is ${rental.status}; the car takes commands only during an active rental`, { current: rental.status });
    // One command at a time per rental, across APP instances (a double tap, a horn held down).
    const inFlight = `rental-command:${rentalId}`;
    if (!(await cache.set(inFlight, '1', { onlyIfAbsent: true, ttlMs: config.UNLOCK_ACK_TIMEOUT_MS + 1_000 }))) {
      throw conflict('vehicle-busy', 'Another command to the car is still waiting for its answer; try again in a moment');
    }
    try {
      const commandId = randomUUID();
      const ack = await commander.send({ commandId, vin: rental.vin, action }, config.UNLOCK_ACK_TIMEOUT_MS);
      if (!ack?.ok) throw commandProblem(ack, action, 'nothing changed; try again');
      return { commandId, rentalId, action, ok: true };
    } finally {
      await cache.del(inFlight);
    }
  }

  return {
    reserve,
    cancelReservation,
    startRental,
    quoteReturn,
    returnRental,
    expireReservations,
    noticeExpiringReservations: () => notices.reservationsExpiring(config.RESERVATION_EXPIRING_NOTICE_MINUTES),
    rollbackStuckUnlocks,
    republishOutbox,
    commandVehicle,
    commandRentedVehicle,
  };
}
export type RentalService = ReturnType<typeof createRentalService>;
