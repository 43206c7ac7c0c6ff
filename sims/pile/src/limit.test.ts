import { clearProfiles, deliveredPowerW, installProfile, profileLimitW, type ChargingProfile, type InstalledProfile } from './limit';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const profile = (
  overrides: Partial<ChargingProfile> & { periods?: Array<[number, number]>; unit?: 'A' | 'W'; start?: number; duration?: number },
): ChargingProfile => ({
  chargingProfileId: overrides.chargingProfileId ?? 1,
  stackLevel: overrides.stackLevel ?? 0,
  chargingProfilePurpose: overrides.chargingProfilePurpose ?? 'TxDefaultProfile',
  chargingProfileKind: overrides.chargingProfileKind ?? 'Absolute',
  ...(overrides.transactionId === undefined ? {} : { transactionId: overrides.transactionId }),
  ...(overrides.recurrencyKind ? { recurrencyKind: overrides.recurrencyKind } : {}),
  chargingSchedule: {
    ...(overrides.duration === undefined ? {} : { duration: overrides.duration }),
    ...(overrides.chargingProfileKind === 'Relative' ? {} : { startSchedule: new Date(overrides.start ?? T0).toISOString() }),
    chargingRateUnit: overrides.unit ?? 'W',
    chargingSchedulePeriod: (overrides.periods ?? [[0, 7000]]).map(([startPeriod, limit]) => ({ startPeriod, limit })),
  },
});
const ctx = { connectorId: 1, voltage: 230, phases: 3 };
const at = (seconds: number) => T0 + seconds * 1000;

describe('profileLimitW', () => {
  it.each<[string, InstalledProfile[], number, Partial<typeof ctx> & { transactionId?: number; transactionStartMs?: number }, number | undefined]>([
    ['no profile: no limit', [], 0, {}, undefined],
    [
      'absolute W, first period',
      [
        {
          connectorId: 1,
          profile: profile({
            periods: [
              [0, 3000],
              [900, 7000],
            ],
          }),
        },
      ],
      100,
      {},
      3000,
    ],
    [
      'absolute W, second period',
      [
        {
          connectorId: 1,
          profile: profile({
            periods: [
              [0, 3000],
              [900, 7000],
            ],
          }),
        },
      ],
      900,
      {},
      7000,
    ],
    ['before the schedule starts', [{ connectorId: 1, profile: profile({ start: at(60) }) }], 0, {}, undefined],
    ['after its duration', [{ connectorId: 1, profile: profile({ duration: 900 }) }], 900, {}, undefined],
    ['amps on three phases at 230 V', [{ connectorId: 1, profile: profile({ unit: 'A', periods: [[0, 16]] }) }], 0, {}, 11040],
    ['other connector ignored', [{ connectorId: 2, profile: profile({}) }], 0, {}, undefined],
    ['connector 0 default applies to all', [{ connectorId: 0, profile: profile({ periods: [[0, 5000]] }) }], 0, {}, 5000],
    [
      'higher stack level wins',
      [
        { connectorId: 1, profile: profile({ periods: [[0, 5000]] }) },
        { connectorId: 1, profile: profile({ chargingProfileId: 2, stackLevel: 1, periods: [[0, 2000]] }) },
      ],
      0,
      {},
      2000,
    ],
    [
      'TxProfile overrides the default during its transaction',
      [
        { connectorId: 1, profile: profile({ periods: [[0, 5000]] }) },
        { connectorId: 1, profile: profile({ chargingProfileId: 2, chargingProfilePurpose: 'TxProfile', transactionId: 9, periods: [[0, 1000]] }) },
      ],
      0,
      { transactionId: 9 },
      1000,
    ],
    [
      'TxProfile of another transaction ignored',
      [
        { connectorId: 1, profile: profile({ periods: [[0, 5000]] }) },
        { connectorId: 1, profile: profile({ chargingProfileId: 2, chargingProfilePurpose: 'TxProfile', transactionId: 8, periods: [[0, 1000]] }) },
      ],
      0,
      { transactionId: 9 },
      5000,
    ],
    [
      'ChargePointMaxProfile caps',
      [
        { connectorId: 1, profile: profile({ periods: [[0, 5000]] }) },
        { connectorId: 0, profile: profile({ chargingProfileId: 3, chargingProfilePurpose: 'ChargePointMaxProfile', periods: [[0, 4000]] }) },
      ],
      0,
      {},
      4000,
    ],
    [
      'relative from the transaction start',
      [
        {
          connectorId: 1,
          profile: profile({
            chargingProfileKind: 'Relative',
            periods: [
              [0, 1000],
              [600, 2000],
            ],
          }),
        },
      ],
      700,
      { transactionId: 1, transactionStartMs: at(0) },
      2000,
    ],
    [
      'daily recurring wraps',
      [
        {
          connectorId: 1,
          profile: profile({
            chargingProfileKind: 'Recurring',
            recurrencyKind: 'Daily',
            periods: [
              [0, 1000],
              [3600, 2000],
            ],
          }),
        },
      ],
      86_400 + 100,
      {},
      1000,
    ],
  ])('%s', (_name, profiles, seconds, extra, expected) => {
    expect(profileLimitW(profiles, at(seconds), { ...ctx, ...extra })).toBe(expected);
  });
});

describe('deliveredPowerW', () => {
  it.each([
    ['no limit: car or pile, whichever is lower', { pileMaxW: 7000, carMaxW: 11000, socPct: 50 }, 7000],
    ['limit binds', { limitW: 3000, pileMaxW: 7000, carMaxW: 11000, socPct: 50 }, 3000],
    ['zero limit pauses', { limitW: 0, pileMaxW: 7000, carMaxW: 11000, socPct: 50 }, 0],
    ['taper above 80%', { pileMaxW: 20000, carMaxW: 10000, socPct: 90 }, 5500],
    ['full battery takes nothing', { pileMaxW: 7000, carMaxW: 11000, socPct: 100 }, 0],
  ])('%s', (_name, input, expected) => expect(deliveredPowerW(input)).toBe(expected));

  it('never exceeds the limit (random cases)', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5000; i++) {
      const input = { limitW: random() < 0.2 ? undefined : random() * 22000, pileMaxW: random() * 22000, carMaxW: random() * 150000, socPct: random() * 100 };
      const power = deliveredPowerW(input);
      expect(power).toBeGreaterThanOrEqual(0);
      expect(power).toBeLessThanOrEqual(Math.min(input.limitW ?? Infinity, input.pileMaxW, input.carMaxW));
    }
  });
});

describe('installing and clearing profiles', () => {
  it('replaces by id and by purpose + stack level on the connector; clears by criteria', () => {
    let installed: InstalledProfile[] = [];
    installed = installProfile(installed, { connectorId: 1, profile: profile({ chargingProfileId: 1 }) });
    installed = installProfile(installed, { connectorId: 1, profile: profile({ chargingProfileId: 1, periods: [[0, 1]] }) });
    installed = installProfile(installed, { connectorId: 1, profile: profile({ chargingProfileId: 2 }) });
    installed = installProfile(installed, { connectorId: 1, profile: profile({ chargingProfileId: 3, chargingProfilePurpose: 'TxProfile' }) });
    expect(installed.map((p) => p.profile.chargingProfileId)).toEqual([2, 3]);
    expect(clearProfiles(installed, { chargingProfilePurpose: 'TxProfile' })).toMatchObject({ removed: 1 });
    expect(clearProfiles(installed, { id: 99 })).toMatchObject({ removed: 0 });
    expect(clearProfiles(installed, {})).toMatchObject({ removed: 2, kept: [] });
  });
});
