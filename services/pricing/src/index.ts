export { computeFee, perKmFen, planAt, type FeeBreakdown, type FeeInput, type PricingPlan } from './fee';
export { PLAN_COLUMNS, type PlanRow } from './plan';
