import type { VehicleAlert } from '@evshare/kit';

/**
 * Operator alerts raised from a car's reports, edge-triggered: an alert is raised when its
 * condition starts, not at every report while it lasts. Pure.
 */
export type AlertKind = VehicleAlert['kind'];

export interface AlertMemory {
  lowCharge: boolean;
  doorOpen: boolean;
}

export interface AlertSample {
  /** The car's state in the rental business (vehicles.state). */
  state: string;
  socPct: number;
  doorsOpen: boolean;
}

/** The charge must climb this far above the threshold before a new low-charge alert can come. */
export const LOW_CHARGE_HYSTERESIS_PCT = 5;

export function evaluateAlerts(memory: AlertMemory | undefined, sample: AlertSample, lowSocPct: number): { memory: AlertMemory; raised: AlertKind[] } {
  const before = memory ?? { lowCharge: false, doorOpen: false };
  const raised: AlertKind[] = [];
  let lowCharge = before.lowCharge;
  if (!lowCharge && sample.socPct < lowSocPct) {
    lowCharge = true;
    raised.push('low-charge');
  } else if (lowCharge && sample.socPct >= lowSocPct + LOW_CHARGE_HYSTERESIS_PCT) lowCharge = false;
  // A returned car (available, nobody renting it) with a door open.
  const doorOpen = sample.state === 'available' && sample.doorsOpen;
  if (doorOpen && !before.doorOpen) raised.push('door-open-after-return');
  return { memory: { lowCharge, doorOpen }, raised };
}
