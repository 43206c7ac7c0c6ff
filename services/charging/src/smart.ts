import client from 'prom-client';
import type { Logger, Metrics, Pool } from '@evshare/kit';
import { planCharging, PlannerInputError, type PlannerResult } from './planner';
import { pileMinPowerW, plannerCarFor, type ParkedCarRow } from './planner-input';
import { profileFromSchedule, SLOT_SECONDS } from './profile';
import { toPlannerTariff, type Tariff } from './tariff';

export interface SmartChargingOptions {
  db: Pool;
  log: Logger;
  metrics: Metrics;
  tariff: Tariff;
  horizonSlots: number;
  defaultCapW: number;
  defaultAmbientC: number;
  defaultBatteryKwh: number;
  /** Piles' supply, for their 6 A minimum (planner minPowerW). */
  pileVoltageV: number;
  pilePhases: number;
  debounceMs: number;
  /** This instance: a car's station is planned by the instance holding the car's pile. */
  instanceId: string;
  /** Sends an OCPP call to a pile wherever it is connected. */
  callPile(pileId: string, method: string, params: unknown): Promise<unknown>;
}

export interface SmartCharging {
  /** Plans the station soon (events close together are planned once). */
  schedule(stationId: string, reason: string): void;
  /**
   * A car's bookings changed (a rental hold or a rental began or ended): plans the station whose
   * pile has the car parked at it, if any.
   */
  vehicleChanged(vehicleId: string): void;
  /** Plans now and sends the profiles; undefined when another instance is planning it. */
  planStation(stationId: string): Promise<PlannerResult | undefined>;
  /** Every station with a car parked at a connected pile. */
  planAll(): Promise<void>;
  stop(): Promise<void>;
}

type ParkedCar = ParkedCarRow & { transactionId: number | null; connectorId: number | null };

/**
 * The service side of smart charging: gathers each parked car's state (SoC from the pile's
 * MeterValues, else the car's own report), its battery, the pile's power, the car's next booking
 * (a rental hold on the car or a charging slot booked for it), the station cap, the tariff and
 * the temperature; asks the pure planner (planner/) for a schedule; and sends each pile its part
 * as an Absolute SetChargingProfile in W. One instance plans a station at a time (an advisory
 * lock); the piles are reached wherever they are connected.
 */
export function createSmartCharging(options: SmartChargingOptions): SmartCharging {
  const { db, log, metrics } = options;
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  const runs = new client.Counter({
    name: 'charging_plans_total',
    help: 'Station plans computed, by outcome',
    labelNames: ['outcome'],
    registers: [metrics.registry],
  });
  const unmetGauge = new client.Gauge({
    name: 'charging_unmet_deadlines',
    help: 'Deadlines the last plan of a station cannot meet',
    labelNames: ['station'],
    registers: [metrics.registry],
  });
  const sends = new client.Counter({
    name: 'charging_profiles_sent_total',
    help: 'SetChargingProfile calls, by the pile answer',
    labelNames: ['status'],
    registers: [metrics.registry],
  });

  const parkedCars = async (stationId: string) => {
    const { rows } = await db.query<ParkedCar>(
      `SELECT p.id AS "pileId", p.vehicle_id AS "vehicleId", pc.soc_pct::float8 AS "connectorSocPct", v.soc_pct::float8 AS "vehicleSocPct",
              v.battery_kwh::float8 AS "batteryKwh", p.max_power_w AS "pileMaxPowerW", t.id AS "transactionId", t.connector_id AS "connectorId",
              b.departure, b.booked_wh AS "bookedWh", coalesce(b.delivered_wh, 0)::float8 AS "deliveredWh"
       FROM piles p
       JOIN vehicles v ON v.id = p.vehicle_id
       LEFT JOIN charging_transactions t ON t.pile_id = p.id AND t.status = 'active'
       LEFT JOIN LATERAL (
         SELECT soc_pct FROM pile_connectors WHERE pile_id = p.id AND connector_id > 0 AND soc_pct IS NOT NULL AND measured_at > now() - interval '1 hour'
         ORDER BY measured_at DESC LIMIT 1
       ) pc ON true
       LEFT JOIN LATERAL (
         -- The car's next booking: a rental hold (the member may take the car until it expires)
         -- or a charging slot booked for it, with the energy metered for the car since booking.
         SELECT departure, booked_wh, delivered_wh FROM (
           SELECT r.expires_at AS departure, NULL::integer AS booked_wh, NULL::bigint AS delivered_wh
           FROM reservations r WHERE r.vehicle_id = v.id AND r.status = 'active' AND r.expires_at > now()
           UNION ALL
           SELECT cr.slot_end, cr.energy_wh, (
             SELECT sum(CASE WHEN ct.status = 'completed' THEN ct.energy_wh ELSE greatest(0, c.energy_wh - ct.meter_start_wh) END)
             FROM charging_transactions ct
             LEFT JOIN pile_connectors c ON c.pile_id = ct.pile_id AND c.connector_id = ct.connector_id
             WHERE (ct.reservation_id = cr.id OR ct.vehicle_id = cr.vehicle_id) AND ct.started_at >= cr.created_at
           )
           FROM charging_reservations cr
           WHERE cr.vehicle_id = v.id AND cr.status IN ('booked', 'reserved', 'charging') AND cr.slot_end > now()
         ) bookings ORDER BY departure LIMIT 1
       ) b ON true
       WHERE p.station_id = $1 AND p.enabled AND p.instance_id IS NOT NULL AND p.state NOT IN ('faulted', 'unavailable', 'offline')
       ORDER BY p.id`,
      [stationId],
    );
    return rows;
  };

  const planStation = async (stationId: string): Promise<PlannerResult | undefined> => {
    const lock = await db.connect();
    try {
      const { rows: locked } = await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('charging-plan:' || $1)) AS ok`, [stationId]);
      if (!locked[0]!.ok) return undefined;
      try {
        const { rows: stations } = await db.query<{ capW: number | null; ambientC: string | null }>(
          'SELECT charging_cap_w AS "capW", ambient_c AS "ambientC" FROM stations WHERE id = $1',
          [stationId],
        );
        if (!stations[0]) return { schedules: [], costFen: 0, unmet: [] };
        const cars = await parkedCars(stationId);
        const now = Date.now();
        const start = new Date(Math.floor(now / (SLOT_SECONDS * 1000)) * SLOT_SECONDS * 1000).toISOString();
        const ambientC = stations[0].ambientC === null ? options.defaultAmbientC : Number(stations[0].ambientC);
        const context = { defaultBatteryKwh: options.defaultBatteryKwh, ambientC, pileVoltageV: options.pileVoltageV, pilePhases: options.pilePhases };
        const plannerCars = cars.map((car) => plannerCarFor(car, context));
        const result = planCharging({
          start,
          slotMinutes: 15,
          horizonSlots: options.horizonSlots,
          stationCapW: stations[0].capW ?? options.defaultCapW,
          ambientC,
          tariff: toPlannerTariff(options.tariff),
          cars: plannerCars,
        });
        runs.inc({ outcome: result.unmet.length > 0 ? 'unmet' : 'ok' });
        unmetGauge.set({ station: stationId }, result.unmet.length);
        await Promise.all(
          result.schedules.map(async (schedule) => {
            const car = cars.find((c) => c.pileId === schedule.pileId)!;
            const unmet = result.unmet.filter((u) => u.pileId === schedule.pileId);
            const profile = profileFromSchedule(schedule, {
              connectorId: car.connectorId ?? 1,
              transactionId: car.transactionId ?? undefined,
              minLimitW: pileMinPowerW(car.pileMaxPowerW, options.pileVoltageV, options.pilePhases),
            });
            await db.query(
              `INSERT INTO charging_plans (pile_id, station_id, planned_at, plan, sent) VALUES ($1, $2, now(), $3, false)
               ON CONFLICT (pile_id) DO UPDATE SET station_id = EXCLUDED.station_id, planned_at = now(), plan = EXCLUDED.plan, sent = false`,
              [schedule.pileId, stationId, JSON.stringify({ schedule, unmet, profile: profile.csChargingProfiles })],
            );
            try {
              const answer = (await options.callPile(schedule.pileId, 'SetChargingProfile', profile)) as { status: string };
              sends.inc({ status: answer.status });
              if (answer.status === 'Accepted') await db.query('UPDATE charging_plans SET sent = true WHERE pile_id = $1', [schedule.pileId]);
              else log.warn({ pileId: schedule.pileId, status: answer.status }, 'pile refused the charging profile');
            } catch (error) {
              sends.inc({ status: 'error' });
              log.warn({ pileId: schedule.pileId, err: (error as Error).message }, 'sending the charging profile failed');
            }
          }),
        );
        // Piles that no longer have a car keep no plan.
        await db.query('DELETE FROM charging_plans WHERE station_id = $1 AND NOT (pile_id = ANY($2))', [stationId, cars.map((c) => c.pileId)]);
        if (result.unmet.length > 0) log.info({ stationId, unmet: result.unmet }, 'some deadlines cannot be met');
        return result;
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtext('charging-plan:' || $1))`, [stationId]);
      }
    } catch (error) {
      runs.inc({ outcome: error instanceof PlannerInputError ? 'invalid' : 'error' });
      throw error;
    } finally {
      lock.release();
    }
  };

  const track = <T>(promise: Promise<T>) => {
    running.add(promise);
    void promise.finally(() => running.delete(promise)).catch(() => undefined);
    return promise;
  };

  const schedule = (stationId: string, reason: string) => {
    if (stopped || timers.has(stationId)) return;
    timers.set(
      stationId,
      setTimeout(() => {
        timers.delete(stationId);
        track(planStation(stationId)).then(
          (result) => {
            // Another instance held the station: try again after it.
            if (result === undefined) schedule(stationId, reason);
          },
          (error: unknown) => log.error({ err: error, stationId, reason }, 'planning failed'),
        );
      }, options.debounceMs),
    );
  };

  // Cars changed in the same moment (one transaction's notifications arrive together) are looked
  // up in one query; at most one lookup runs at a time.
  const changedCars = new Set<string>();
  let lookingUp = false;
  const lookUpChangedCars = async () => {
    lookingUp = true;
    try {
      while (changedCars.size > 0 && !stopped) {
        const ids = [...changedCars];
        changedCars.clear();
        const { rows } = await db.query<{ stationId: string }>(
          'SELECT DISTINCT station_id AS "stationId" FROM piles WHERE vehicle_id = ANY($1::uuid[]) AND instance_id = $2',
          [ids, options.instanceId],
        );
        for (const row of rows) schedule(row.stationId, 'vehicle booking');
      }
    } catch (error) {
      log.warn({ err: error }, 'cannot find the stations of changed cars; the periodic plan catches up');
    } finally {
      lookingUp = false;
    }
  };
  const vehicleChanged = (vehicleId: string) => {
    if (stopped) return;
    changedCars.add(vehicleId);
    if (!lookingUp) setImmediate(() => void (lookingUp || track(lookUpChangedCars())));
  };

  return {
    schedule,
    vehicleChanged,
    planStation: (stationId) => track(planStation(stationId)),
    async planAll() {
      const { rows } = await db.query<{ stationId: string }>(
        `SELECT DISTINCT station_id AS "stationId" FROM piles WHERE vehicle_id IS NOT NULL AND instance_id IS NOT NULL`,
      );
      for (const row of rows) schedule(row.stationId, 'periodic');
    },
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}
