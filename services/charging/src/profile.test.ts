import { profileFromSchedule, SMART_PROFILE_ID } from './profile';

const slots = (powers: number[]) => powers.map((powerW, i) => ({ start: new Date(Date.UTC(2026, 0, 1, 0, 15 * i)).toISOString(), powerW }));

describe('profileFromSchedule', () => {
  it.each([
    ['equal slots merge into one period', [7000, 7000, 7000], [{ startPeriod: 0, limit: 7000 }]],
    [
      'changes start new periods',
      [0, 0, 3500, 7000, 7000, 0],
      [
        { startPeriod: 0, limit: 0 },
        { startPeriod: 1800, limit: 3500 },
        { startPeriod: 2700, limit: 7000 },
        { startPeriod: 4500, limit: 0 },
      ],
    ],
    [
      'fractions rounded, negatives clamped',
      [1234.6, -3],
      [
        { startPeriod: 0, limit: 1235 },
        { startPeriod: 900, limit: 0 },
      ],
    ],
    ['empty schedule stops charging', [], [{ startPeriod: 0, limit: 0 }]],
  ])('%s', (_name, powers, periods) => {
    const profile = profileFromSchedule({ slots: slots(powers) }, { connectorId: 1 });
    expect(profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod).toEqual(periods);
    expect(profile.csChargingProfiles.chargingSchedule.duration).toBe(powers.length * 900);
  });

  it("raises a charging slot below the pile's 6 A floor to the floor; zero stays zero", () => {
    const profile = profileFromSchedule({ slots: slots([0, 3500, 4140, 7000, 0]) }, { connectorId: 1, minLimitW: 4140 });
    expect(profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod).toEqual([
      { startPeriod: 0, limit: 0 },
      { startPeriod: 900, limit: 4140 },
      { startPeriod: 2700, limit: 7000 },
      { startPeriod: 3600, limit: 0 },
    ]);
  });

  it('is a TxProfile for a running transaction and a TxDefaultProfile otherwise', () => {
    expect(profileFromSchedule({ slots: slots([1]) }, { connectorId: 1, transactionId: 7 }).csChargingProfiles).toMatchObject({
      chargingProfileId: SMART_PROFILE_ID,
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Absolute',
      transactionId: 7,
      chargingSchedule: { chargingRateUnit: 'W', startSchedule: '2026-01-01T00:00:00.000Z' },
    });
    const idle = profileFromSchedule({ slots: slots([1]) }, { connectorId: 1 }).csChargingProfiles;
    expect(idle.chargingProfilePurpose).toBe('TxDefaultProfile');
    expect(idle).not.toHaveProperty('transactionId');
  });
});
