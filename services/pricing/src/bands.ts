/**
 * Time of day in pricing: per-minute rate bands by local hour, in the operator's time zone.
 * A band covers the local hours [fromHour, toHour); a band with toHour ≤ fromHour wraps past
 * midnight (22 → 6 is the night). Hours no band covers are charged the plan's base rate.
 */
export interface TimeBand {
  /** First local hour of the band, 0-23. */
  fromHour: number;
  /** The hour the band ends at (exclusive), 0-24; at or before fromHour it wraps past midnight. */
  toHour: number;
  perMinuteFen: number;
}

const HOUR_MS = 3_600_000;

/** The local hours a band covers, in order. */
export function bandHours(band: Pick<TimeBand, 'fromHour' | 'toHour'>): number[] {
  const hours: number[] = [];
  const end = band.toHour <= band.fromHour ? band.toHour + 24 : band.toHour;
  for (let h = band.fromHour; h < end; h += 1) hours.push(h % 24);
  return hours;
}

/**
 * Why a set of bands is not valid, naming the band (its index) and the field; undefined when it is.
 * The API's schema says the same to the client; this is the rule's own guard.
 */
export function bandsProblem(bands: readonly TimeBand[]): { index: number; field: keyof TimeBand; reason: string } | undefined {
  const owner = new Array<number | undefined>(24);
  for (const [index, band] of bands.entries()) {
    if (!Number.isInteger(band.fromHour) || band.fromHour < 0 || band.fromHour > 23) return { index, field: 'fromHour', reason: 'must be a whole hour 0-23' };
    if (!Number.isInteger(band.toHour) || band.toHour < 0 || band.toHour > 24) return { index, field: 'toHour', reason: 'must be a whole hour 0-24' };
    if (band.toHour % 24 === band.fromHour) return { index, field: 'toHour', reason: 'must differ from fromHour (a band of 24 hours is the base rate)' };
    if (!Number.isSafeInteger(band.perMinuteFen) || band.perMinuteFen < 0) return { index, field: 'perMinuteFen', reason: 'must be a non-negative integer' };
    for (const hour of bandHours(band)) {
      if (owner[hour] !== undefined) return { index, field: 'fromHour', reason: `overlaps band ${owner[hour]} at ${hour}:00` };
      owner[hour] = index;
    }
  }
  return undefined;
}

/** The per-minute rate of each local hour 0-23. */
export function ratesByHour(baseFen: number, bands: readonly TimeBand[]): number[] {
  const rates = new Array<number>(24).fill(baseFen);
  for (const band of bands) for (const hour of bandHours(band)) rates[hour] = band.perMinuteFen;
  return rates;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function formatIn(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(timeZone, format);
  }
  return format;
}

/** Whether the runtime knows the IANA time zone (`Asia/Shanghai`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatIn(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local hour at an instant and the instant the next local hour begins. */
export function localHour(at: number, timeZone: string): { hour: number; nextHourAt: number } {
  const parts = formatIn(timeZone).formatToParts(new Date(at));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const intoHourMs = (part('minute') * 60 + part('second')) * 1000 + (((at % 1000) + 1000) % 1000);
  return { hour: part('hour'), nextHourAt: at - intoHourMs + HOUR_MS };
}
