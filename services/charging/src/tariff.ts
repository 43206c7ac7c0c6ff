import type { Tariff as PlannerTariff } from './planner';
/**
 * The time-of-use tariff (fen per kWh) in three bands over Asia/Shanghai local hours. China has
 * no daylight saving time, so local time is always UTC+8.
 */
export type Band = 'peak' | 'flat' | 'valley';
export interface BandSpan {
  band: Band;
  /** Local hours, from inclusive to exclusive, 0..24. */
  from: number;
  to: number;
}
export interface Tariff {
  spans: BandSpan[];
  fenPerKwh: Record<Band, number>;
}

const SHANGHAI_OFFSET_MS = 8 * 3600_000;
const HOUR_MS = 3600_000;

/** `valley:0-8,flat:8-10,...`: must cover 0-24 without gaps or overlaps. */
export function parseTariffBands(text: string): BandSpan[] {
  const spans = text.split(',').map((part) => {
    const match = /^\s*(peak|flat|valley):(\d{1,2})-(\d{1,2})\s*$/.exec(part);
    if (!match) throw new Error(`"${part}" is not band:from-to with band peak, flat or valley`);
    const from = Number(match[2]);
    const to = Number(match[3]);
    if (!(from >= 0 && to <= 24 && from < to)) throw new Error(`"${part}": hours must satisfy 0 <= from < to <= 24`);
    return { band: match[1] as Band, from, to };
  });
  spans.sort((a, b) => a.from - b.from);
  let hour = 0;
  for (const span of spans) {
    if (span.from !== hour) throw new Error(`bands must cover the day without gap or overlap (at hour ${hour})`);
    hour = span.to;
  }
  if (hour !== 24) throw new Error('bands must reach hour 24');
  return spans;
}

/** The band in force at an instant. */
export function bandAt(tariff: Tariff, atMs: number): Band {
  const hour = Math.floor(((((atMs + SHANGHAI_OFFSET_MS) % (24 * HOUR_MS)) + 24 * HOUR_MS) % (24 * HOUR_MS)) / HOUR_MS);
  return tariff.spans.find((span) => hour >= span.from && hour < span.to)!.band;
}

export const priceAt = (tariff: Tariff, atMs: number): number => tariff.fenPerKwh[bandAt(tariff, atMs)];

const DAY_MS = 24 * HOUR_MS;

/** Σ price × time (fen/kWh × ms) from local midnight to `msOfDay` into the day. O(bands). */
function dayIntegral(tariff: Tariff, msOfDay: number): number {
  let sum = 0;
  for (const span of tariff.spans) {
    const from = span.from * HOUR_MS;
    if (msOfDay <= from) break;
    sum += (Math.min(msOfDay, span.to * HOUR_MS) - from) * tariff.fenPerKwh[span.band];
  }
  return sum;
}

/** Σ price × time (fen/kWh × ms) between two instants, whatever their distance: O(bands). */
export function priceIntegral(tariff: Tariff, fromMs: number, toMs: number): number {
  const local = (ms: number) => {
    const shifted = ms + SHANGHAI_OFFSET_MS;
    const day = Math.floor(shifted / DAY_MS);
    return { day, within: shifted - day * DAY_MS };
  };
  const from = local(fromMs);
  const to = local(toMs);
  return (to.day - from.day) * dayIntegral(tariff, DAY_MS) + dayIntegral(tariff, to.within) - dayIntegral(tariff, from.within);
}

/**
 * The price of a charging session's energy, unrounded, in thousandths of a fen. Piles report the
 * meter at start and stop, so the energy is spread evenly over the session and each part priced
 * at its band. Computed from the tariff's bands, not hour by hour: the cost does not depend on
 * how far apart the times are.
 */
export function energyCostMilliFen(tariff: Tariff, startMs: number, stopMs: number, energyWh: number): number {
  if (energyWh <= 0) return 0;
  if (stopMs <= startMs) return energyWh * priceAt(tariff, startMs);
  return energyWh * (priceIntegral(tariff, startMs, stopMs) / (stopMs - startMs));
}

/** energyCostMilliFen rounded to the nearest fen. */
export const energyCostFen = (tariff: Tariff, startMs: number, stopMs: number, energyWh: number): number =>
  Math.round(energyCostMilliFen(tariff, startMs, stopMs, energyWh) / 1000);

/** A stretch of one band, in UTC. */
export interface TariffSpan {
  start: string;
  end: string;
  band: Band;
  fenPerKwh: number;
}

/**
 * The bands in force from `fromMs` to `toMs`, cut at both ends; adjacent hours of the same band
 * (such as 23-24 and 0-8 across midnight) form one span.
 */
export function tariffSpans(tariff: Tariff, fromMs: number, toMs: number): TariffSpan[] {
  const spans: TariffSpan[] = [];
  let at = fromMs;
  while (at < toMs) {
    // Band edges are whole local hours, so the band can only change at the next hour.
    const nextHour = Math.floor((at + SHANGHAI_OFFSET_MS) / HOUR_MS + 1) * HOUR_MS - SHANGHAI_OFFSET_MS;
    const end = Math.min(nextHour, toMs);
    const band = bandAt(tariff, at);
    const last = spans.at(-1);
    if (last?.band === band) last.end = new Date(end).toISOString();
    else spans.push({ start: new Date(at).toISOString(), end: new Date(end).toISOString(), band, fenPerKwh: tariff.fenPerKwh[band] });
    at = end;
  }
  return spans;
}

/** The planner's form of the tariff: minutes of the Shanghai day. */
export function toPlannerTariff(tariff: Tariff): PlannerTariff {
  return {
    utcOffsetMinutes: SHANGHAI_OFFSET_MS / 60_000,
    bands: tariff.spans.map((span) => ({ name: span.band, fromMinute: span.from * 60, toMinute: span.to * 60, fenPerKwh: tariff.fenPerKwh[span.band] })),
  };
}
