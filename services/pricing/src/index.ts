export { bandHours, bandsProblem, isTimeZone, localHour, ratesByHour, type TimeBand } from './bands';
export {
  computeFee,
  perKmFen,
  planAt,
  planFor,
  planScope,
  splitMinutes,
  type BandMinutes,
  type FeeBreakdown,
  type FeeInput,
  type MinuteRun,
  type PlanScope,
  type PricingPlan,
} from './fee';
export { PLAN_COLUMNS, type PlanRow } from './plan';
