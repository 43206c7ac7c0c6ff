import { charge, drive, type Physics } from './model';

const parked: Physics = { lat: 31.23, lng: 121.47, speedKmh: 0, socPct: 50, odometerM: 1000, batteryKwh: 40, whPerKm: 130 };

describe('drive', () => {
  it.each([
    ['one hour at 60 km/h east', 3_600_000, 60, Math.PI / 2, { odometerM: 61_000, socPct: 50 - ((60 * 130) / 1000 / 40) * 100, speedKmh: 60 }],
    ['standing still uses nothing', 60_000, 0, 0, { odometerM: 1000, socPct: 50, speedKmh: 0 }],
  ])('%s', (_name, dtMs, speed, heading, expected) => {
    const after = drive(parked, dtMs, speed, heading);
    expect(after.odometerM).toBe(expected.odometerM);
    expect(after.socPct).toBeCloseTo(expected.socPct, 6);
    expect(after.speedKmh).toBe(expected.speedKmh);
  });

  it('moves north when heading 0 and east when heading π/2', () => {
    expect(drive(parked, 60_000, 60, 0).lat).toBeGreaterThan(parked.lat);
    const east = drive(parked, 60_000, 60, Math.PI / 2);
    expect(east.lng).toBeGreaterThan(parked.lng);
    expect(east.lat).toBeCloseTo(parked.lat, 9);
  });

  it('stops with an empty battery after its remaining range', () => {
    const low = { ...parked, socPct: 1 };
    const after = drive(low, 3_600_000, 100, 0);
    expect(after.socPct).toBe(0);
    expect(after.speedKmh).toBe(0);
    expect(after.odometerM - low.odometerM).toBe(Math.round((0.01 * 40 * 1e6) / 130));
  });
});

describe('charge', () => {
  it.each([
    ['7 kW for one hour adds 7 kWh', 50, 3_600_000, 7, 50 + (7 / 40) * 100],
    ['never above 100 %', 99, 3_600_000, 50, 100],
  ])('%s', (_name, soc, dtMs, kw, expected) => {
    expect(charge({ ...parked, socPct: soc }, dtMs, kw).socPct).toBeCloseTo(expected, 6);
  });
});
