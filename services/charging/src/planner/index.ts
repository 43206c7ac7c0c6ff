export * from './types';
export { planCharging, PlannerInputError } from './planner';
export { planUncontrolled, planFlatLimit } from './baselines';
export { chargingPeriods, type ChargingPeriod } from './profile';
export { powerDerate, chargeEfficiency, COLD_BELOW_C, NOMINAL_EFFICIENCY } from './temperature';
export { tariffProblem } from './tariff';
