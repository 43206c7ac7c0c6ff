import type { PricingPlan } from './fee';

/** A row of pricing_plans as the services read it: the rules plus who published the plan and when. */
export type PlanRow = PricingPlan & { name: string; publishedBy: string | null; createdAt: Date };

/** The select list of a PlanRow from `pricing_plans p` (one list for every reader of the table). */
export const PLAN_COLUMNS = `p.id, p.name, p.per_minute_fen AS "perMinuteFen", p.per_km_fen AS "perKmFen", p.daily_cap_fen AS "dailyCapFen",
  p.minimum_fen AS "minimumFen", p.reservation_fee_fen AS "reservationFeeFen", p.hold_minutes AS "holdMinutes",
  p.one_way_fee_fen AS "oneWayFeeFen", p.one_way_per_km_fen AS "oneWayPerKmFen", p.deposit_fen AS "depositFen",
  p.valid_from AS "validFrom", p.valid_to AS "validTo", p.vehicle_model AS "vehicleModel", p.station_id AS "stationId",
  p.time_zone AS "timeZone", p.time_bands AS "timeBands", p.published_by AS "publishedBy", p.created_at AS "createdAt"`;
