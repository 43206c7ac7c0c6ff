/**
 * What a pile may deliver under its OCPP 1.6 charging profiles (pure; the simulator's contract:
 * delivered power is never above the limit in force).
 */
export interface ChargingSchedulePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}
export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';
  chargingProfileKind: 'Absolute' | 'Recurring' | 'Relative';
  recurrencyKind?: 'Daily' | 'Weekly';
  validFrom?: string;
  validTo?: string;
  chargingSchedule: {
    duration?: number;
    startSchedule?: string;
    chargingRateUnit: 'A' | 'W';
    chargingSchedulePeriod: ChargingSchedulePeriod[];
    minChargingRate?: number;
  };
}
export interface InstalledProfile {
  connectorId: number;
  profile: ChargingProfile;
}

const DAY_MS = 86_400_000;

/** A schedule's limit at an instant in W, or undefined when the schedule is not in force. */
function scheduleLimitW(
  profile: ChargingProfile,
  atMs: number,
  transactionStartMs: number | undefined,
  voltage: number,
  defaultPhases: number,
): number | undefined {
  if (profile.validFrom && atMs < Date.parse(profile.validFrom)) return undefined;
  if (profile.validTo && atMs >= Date.parse(profile.validTo)) return undefined;
  const schedule = profile.chargingSchedule;
  let origin: number | undefined;
  if (profile.chargingProfileKind === 'Relative') origin = transactionStartMs;
  else origin = schedule.startSchedule ? Date.parse(schedule.startSchedule) : transactionStartMs;
  if (origin === undefined || Number.isNaN(origin)) return undefined;
  let offsetMs = atMs - origin;
  if (profile.chargingProfileKind === 'Recurring') {
    const period = profile.recurrencyKind === 'Weekly' ? 7 * DAY_MS : DAY_MS;
    offsetMs = ((offsetMs % period) + period) % period;
  }
  if (offsetMs < 0) return undefined;
  if (schedule.duration !== undefined && offsetMs >= schedule.duration * 1000) return undefined;
  let current: ChargingSchedulePeriod | undefined;
  for (const period of [...schedule.chargingSchedulePeriod].sort((a, b) => a.startPeriod - b.startPeriod)) {
    if (period.startPeriod * 1000 <= offsetMs) current = period;
  }
  if (!current) return undefined;
  if (schedule.chargingRateUnit === 'W') return current.limit;
  return current.limit * voltage * (current.numberPhases ?? defaultPhases);
}

/** The profile of one purpose in force: the highest stack level whose schedule covers the instant. */
function purposeLimitW(profiles: InstalledProfile[], purpose: ChargingProfile['chargingProfilePurpose'], atMs: number, ctx: LimitContext): number | undefined {
  const candidates = profiles
    .filter(
      ({ profile, connectorId }) =>
        profile.chargingProfilePurpose === purpose && (purpose === 'ChargePointMaxProfile' || connectorId === 0 || connectorId === ctx.connectorId),
    )
    .filter(({ profile }) => purpose !== 'TxProfile' || profile.transactionId === undefined || profile.transactionId === ctx.transactionId)
    .sort((a, b) => b.profile.stackLevel - a.profile.stackLevel || b.connectorId - a.connectorId);
  for (const { profile } of candidates) {
    const limit = scheduleLimitW(profile, atMs, ctx.transactionStartMs, ctx.voltage, ctx.phases);
    if (limit !== undefined) return limit;
  }
  return undefined;
}

export interface LimitContext {
  connectorId: number;
  /** Set while a transaction runs: TxProfile applies only then. */
  transactionId?: number;
  transactionStartMs?: number;
  voltage: number;
  phases: number;
}

/**
 * The limit in W at an instant (OCPP 1.6 §3.13.2): a TxProfile for the running transaction
 * overrides the TxDefaultProfile, and the ChargePointMaxProfile caps both. Undefined: no limit.
 */
export function profileLimitW(profiles: InstalledProfile[], atMs: number, ctx: LimitContext): number | undefined {
  const tx = ctx.transactionId !== undefined ? purposeLimitW(profiles, 'TxProfile', atMs, ctx) : undefined;
  const connectorLimit = tx ?? purposeLimitW(profiles, 'TxDefaultProfile', atMs, ctx);
  const max = purposeLimitW(profiles, 'ChargePointMaxProfile', atMs, ctx);
  if (connectorLimit === undefined) return max;
  if (max === undefined) return connectorLimit;
  return Math.min(connectorLimit, max);
}

/**
 * The power the car takes: the pile's rating, the car's own limit (tapering linearly above 80%
 * state of charge to a tenth at 100%), and never above the profile limit.
 */
export function deliveredPowerW(input: { limitW?: number; pileMaxW: number; carMaxW: number; socPct: number }): number {
  const taper = input.socPct <= 80 ? 1 : Math.max(0.1, 1 - ((input.socPct - 80) / 20) * 0.9);
  const carW = input.socPct >= 100 ? 0 : input.carMaxW * taper;
  const power = Math.min(input.pileMaxW, carW, input.limitW ?? Number.POSITIVE_INFINITY);
  return Math.max(0, Math.floor(power));
}

/**
 * Installs a profile as a pile does: one with the same id, or the same purpose and stack level
 * on the same connector, is replaced.
 */
export function installProfile(profiles: InstalledProfile[], incoming: InstalledProfile): InstalledProfile[] {
  const kept = profiles.filter(
    ({ profile, connectorId }) =>
      profile.chargingProfileId !== incoming.profile.chargingProfileId &&
      !(
        connectorId === incoming.connectorId &&
        profile.stackLevel === incoming.profile.stackLevel &&
        profile.chargingProfilePurpose === incoming.profile.chargingProfilePurpose
      ),
  );
  return [...kept, incoming];
}

/** ClearChargingProfile: removes the profiles matching every criterion given. */
export function clearProfiles(
  profiles: InstalledProfile[],
  criteria: { id?: number; connectorId?: number; chargingProfilePurpose?: string; stackLevel?: number },
): { kept: InstalledProfile[]; removed: number } {
  const matches = ({ profile, connectorId }: InstalledProfile) =>
    (criteria.id === undefined || profile.chargingProfileId === criteria.id) &&
    (criteria.connectorId === undefined || connectorId === criteria.connectorId) &&
    (criteria.chargingProfilePurpose === undefined || profile.chargingProfilePurpose === criteria.chargingProfilePurpose) &&
    (criteria.stackLevel === undefined || profile.stackLevel === criteria.stackLevel);
  const kept = profiles.filter((p) => !matches(p));
  return { kept, removed: profiles.length - kept.length };
}
