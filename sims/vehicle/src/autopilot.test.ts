import { bearing, driveRefusal, nearestStation, park, stepTowards, type DriveRefusal, type PilotPhase, type StepOutcome } from './autopilot';
import { SimCar } from './car';

describe('rental autopilot geometry', () => {
  const origin = { lat: 31.2304, lng: 121.4737 };

  it.each<[string, { lat: number; lng: number }, number]>([
    ['north', { lat: origin.lat + 0.01, lng: origin.lng }, 0],
    ['east', { lat: origin.lat, lng: origin.lng + 0.01 }, Math.PI / 2],
    ['south', { lat: origin.lat - 0.01, lng: origin.lng }, Math.PI],
    ['west', { lat: origin.lat, lng: origin.lng - 0.01 }, -Math.PI / 2],
  ])('heads %s towards a point there', (_name, to, heading) => {
    expect(bearing(origin, to).headingRad).toBeCloseTo(heading, 6);
  });

  it('measures about 1.1 km per 0.01° of latitude', () => {
    expect(bearing(origin, { lat: origin.lat + 0.01, lng: origin.lng }).metres).toBeCloseTo(1_113.2, 0);
  });

  it('picks the nearest station, and none from an empty list', () => {
    const far = { name: 'far', lat: origin.lat + 0.05, lng: origin.lng };
    const near = { name: 'near', lat: origin.lat - 0.002, lng: origin.lng + 0.001 };
    expect(nearestStation(origin, [far, near])?.name).toBe('near');
    expect(nearestStation(origin, [])).toBeUndefined();
  });
});

describe('driving a car to a station by hand', () => {
  const station = { name: 'south', lat: 31.2204, lng: 121.4737 };
  const carAt = (start: { lat: number; lng: number }) =>
    new SimCar({
      vin: 'LSVMTEST000000001',
      brokerUrl: 'mqtt://127.0.0.1:1',
      topicRoot: 'test',
      start: { ...start, socPct: 80, odometerM: 10_000 },
      telemetryParkedMs: 60_000,
      telemetryDrivingMs: 60_000,
    });

  it.each<[string, { locked: boolean; immobilised: boolean }, PilotPhase | undefined, DriveRefusal | undefined]>([
    ['an unlocked car without the autopilot', { locked: false, immobilised: false }, undefined, undefined],
    ['an unlocked car the autopilot parked', { locked: false, immobilised: false }, 'waiting-for-lock', undefined],
    ['a locked car (nobody in it)', { locked: true, immobilised: false }, 'parked', 'locked'],
    ['an immobilised car', { locked: false, immobilised: true }, undefined, 'immobilised'],
    ['a car the autopilot is boarding', { locked: false, immobilised: false }, 'boarding', 'autopilot-driving'],
    ['a car the autopilot drives out', { locked: false, immobilised: false }, 'outbound', 'autopilot-driving'],
    ['a car the autopilot drives back', { locked: false, immobilised: false }, 'inbound', 'autopilot-driving'],
  ])('%s: %s', (_name, car, phase, refusal) => {
    expect(driveRefusal(car, phase)).toBe(refusal);
  });

  /** Steps of `dtMs` until the drive is over; the outcomes in order. */
  const driveOut = (car: SimCar, dtMs: number) => {
    const outcomes: StepOutcome[] = [];
    while (outcomes.at(-1) === undefined || outcomes.at(-1) === 'driving') outcomes.push(stepTowards(car, station, 60, dtMs));
    return outcomes;
  };

  it('a walk-up drives about 1.1 km at 60 km/h in steps (about 67 s), stops on the station, parks, and its trip ends (the car locks)', () => {
    const car = carAt({ lat: 31.2304, lng: 121.4737 });
    car.whitelist = { version: 1, entries: [{ memberId: 'm-1', cardUids: ['A1B2C3D4'], role: 'renter' }] };
    expect(car.localUnlock({ cardUid: 'A1B2C3D4' })).toBe(true);
    const outcomes = driveOut(car, 1_000);
    expect(outcomes.at(-1)).toBe('arrived');
    expect(outcomes.length).toBeGreaterThanOrEqual(66);
    expect(outcomes.length).toBeLessThanOrEqual(68);
    expect(bearing(car.physics, station).metres).toBeLessThanOrEqual(10);
    // The odometer counts whole metres per step (up to half a metre more each of 67 steps).
    expect(car.physics.odometerM - 10_000).toBeGreaterThan(1_095);
    expect(car.physics.odometerM - 10_000).toBeLessThan(1_150);
    expect(car.physics.socPct).toBeLessThan(80);
    expect(car.ignition).toBe(true);
    expect(park(car)).toEqual({ tripEnded: true });
    expect({ locked: car.locked, ignition: car.ignition, speedKmh: car.physics.speedKmh, trip: car.trip }).toEqual({
      locked: true,
      ignition: false,
      speedKmh: 0,
      trip: undefined,
    });
    expect(car.storedTrips).toEqual([expect.objectContaining({ memberId: 'm-1', cardUid: 'A1B2C3D4', endOdometerM: car.physics.odometerM })]);
    // Already there: nothing more to drive.
    expect(stepTowards(car, station, 60, 1_000)).toBe('arrived');
  });

  it('a car locked, or out of charge, on the way stops; a rental unlocked through the app parks and stays unlocked for the member', () => {
    const car = carAt({ lat: 31.2304, lng: 121.4737 });
    expect(stepTowards(car, station, 60, 1_000)).toBe('stopped');
    expect(car.physics.lat).toBe(31.2304);
    car.locked = false;
    car.physics = { ...car.physics, socPct: 0.01 };
    expect(driveOut(car, 1_000).at(-1)).toBe('stopped');
    expect(car.physics.socPct).toBe(0);
    car.physics = { ...car.physics, socPct: 80 };
    expect(driveOut(car, 1_000).at(-1)).toBe('arrived');
    expect(park(car)).toEqual({ tripEnded: false });
    expect(car.locked).toBe(false);
    expect(car.storedTrips).toEqual([]);
  });
});
