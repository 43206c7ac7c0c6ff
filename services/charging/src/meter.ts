/** One instant of a MeterValues report, reduced to what the platform keeps. */
export interface MeterReading {
  at: string;
  energyWh?: number;
  powerW?: number;
  socPct?: number;
}

interface SampledValue {
  value: string;
  measurand?: string;
  unit?: string;
  phase?: string;
}

/**
 * OCPP 1.6 sampled values to readings: the energy register (the default measurand, Wh or kWh),
 * active import power (W or kW) and state of charge (%). Per-phase values are skipped: the totals
 * are what billing and planning use. Values that are not numbers are ignored.
 */
export function readMeterValues(meterValue: Array<{ timestamp: string; sampledValue: SampledValue[] }>): MeterReading[] {
  return meterValue.map(({ timestamp, sampledValue }) => {
    const reading: MeterReading = { at: new Date(timestamp).toISOString() };
    for (const sample of sampledValue) {
      if (sample.phase) continue;
      const value = Number(sample.value);
      if (!Number.isFinite(value)) continue;
      const measurand = sample.measurand ?? 'Energy.Active.Import.Register';
      if (measurand === 'Energy.Active.Import.Register') reading.energyWh = Math.round(sample.unit === 'kWh' ? value * 1000 : value);
      else if (measurand === 'Power.Active.Import') reading.powerW = Math.round(sample.unit === 'kW' ? value * 1000 : value);
      else if (measurand === 'SoC') reading.socPct = Math.min(100, Math.max(0, value));
    }
    return reading;
  });
}

/** OCPP connector status to the pile state operators see. */
export type PileState = 'available' | 'occupied' | 'charging' | 'faulted' | 'unavailable' | 'offline';
export function pileStateOf(status: string): PileState {
  switch (status) {
    case 'Available':
      return 'available';
    case 'Charging':
      return 'charging';
    case 'Faulted':
      return 'faulted';
    case 'Unavailable':
      return 'unavailable';
    default:
      // Preparing, SuspendedEV, SuspendedEVSE, Finishing, Reserved: the pile is taken.
      return 'occupied';
  }
}
