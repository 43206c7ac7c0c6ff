/**
 * Ambient temperature model (documented in docs/charging-planner.md).
 *
 * A cold battery accepts less power (the car's battery management limits the current until the
 * pack is warm) and part of the energy drawn heats the pack instead of being stored. A deliberately
 * simple, monotone model: piecewise linear below 10 °C, nothing above it.
 */

/** At and above this temperature a car charges at its rated power and nominal efficiency. */
export const COLD_BELOW_C = 10;
/** Grid-to-battery efficiency of AC charging at normal temperature (charger and battery losses). */
export const NOMINAL_EFFICIENCY = 0.9;

/** Share of the rated charge power usable: 2.5 % less per °C below 10 °C, never below 25 % (reached at -20 °C). */
export function powerDerate(ambientC: number): number {
  if (ambientC >= COLD_BELOW_C) return 1;
  return Math.max(0.25, 1 - 0.025 * (COLD_BELOW_C - ambientC));
}

/** Share of the grid energy that reaches the battery: 0.5 points less per °C below 10 °C, never below 0.75. */
export function chargeEfficiency(ambientC: number): number {
  if (ambientC >= COLD_BELOW_C) return NOMINAL_EFFICIENCY;
  return Math.max(0.75, NOMINAL_EFFICIENCY - 0.005 * (COLD_BELOW_C - ambientC));
}
