import type { MeterValue } from './ocpp16';

/** One instant of a MeterValues report, reduced to what the platform keeps. */
export interface MeterReading {
  at: string;
  energyWh?: number;
  powerW?: number;
  socPct?: number;
}

/** Largest energy register a meter can hold (Wh): a terawatt-hour, far inside 2^53 and bigint. */
export const METER_MAX_WH = 1e12;
/** Largest power a reading may claim (W), inside the integer column. */
export const POWER_MAX_W = 1e9;

/** Where the readings' own timestamps may be trusted: within `toleranceMs` of `nowMs`. */
export interface ReadingClock {
  nowMs: number;
  toleranceMs: number;
}

/**
 * OCPP 1.6 sampled values to readings: the energy register (the default measurand, Wh or kWh),
 * active import power (W or kW) and state of charge (%). Per-phase values are skipped: the totals
 * are what billing and planning use. Values that are not numbers, or no meter could produce
 * (a negative or beyond-terawatt-hour register, a power beyond a gigawatt), are ignored; a
 * timestamp far from the server's clock becomes the server's time.
 */
export function readMeterValues(meterValue: MeterValue[], clock: ReadingClock): MeterReading[] {
  return meterValue.map(({ timestamp, sampledValue }) => {
    const reported = Date.parse(timestamp);
    const at = Number.isFinite(reported) && Math.abs(reported - clock.nowMs) <= clock.toleranceMs ? reported : clock.nowMs;
    const reading: MeterReading = { at: new Date(at).toISOString() };
    for (const sample of sampledValue) {
      if (sample.phase) continue;
      const value = Number(sample.value);
      if (!Number.isFinite(value)) continue;
      const measurand = sample.measurand ?? 'Energy.Active.Import.Register';
      if (measurand === 'Energy.Active.Import.Register') {
        const wh = Math.round(sample.unit === 'kWh' ? value * 1000 : value);
        if (wh >= 0 && wh <= METER_MAX_WH) reading.energyWh = wh;
      } else if (measurand === 'Power.Active.Import') {
        const w = Math.round(sample.unit === 'kW' ? value * 1000 : value);
        if (Math.abs(w) <= POWER_MAX_W) reading.powerW = w;
      } else if (measurand === 'SoC') reading.socPct = Math.min(100, Math.max(0, value));
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
