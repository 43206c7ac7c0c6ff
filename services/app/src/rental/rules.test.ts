import { checkReturn, distanceM, type ReturnStation, type ReturningVehicle } from './return-rules';
import { VEHICLE_STATES, allowedTransitions, checkTransition, type VehicleState } from './vehicle-state';

describe('vehicle state machine', () => {
  it.each<[VehicleState, VehicleState]>([
    ['available', 'reserved'],
    ['available', 'in_use'],
    ['available', 'charging'],
    ['available', 'maintenance'],
    ['available', 'offline'],
    ['reserved', 'in_use'],
    ['reserved', 'available'],
    ['in_use', 'available'],
    ['in_use', 'charging'],
    ['charging', 'available'],
    ['maintenance', 'available'],
    ['offline', 'available'],
    ['offline', 'maintenance'],
  ])('%s → %s is allowed', (from, to) => {
    expect(checkTransition(from, to)).toEqual({ ok: true });
  });

  it.each<[VehicleState, VehicleState, RegExp]>([
    ['reserved', 'maintenance', /held by a reservation/],
    ['reserved', 'reserved', /held by a reservation/],
    ['in_use', 'maintenance', /being driven/],
    ['in_use', 'reserved', /being driven/],
    ['maintenance', 'in_use', /maintenance cannot become in use/],
    ['maintenance', 'reserved', /cannot become reserved/],
    ['offline', 'in_use', /offline cannot become in use/],
    ['charging', 'in_use', /charging cannot become in use/],
    ['available', 'available', /available cannot become available/],
  ])('%s → %s is refused with a reason', (from, to, detail) => {
    const check = checkTransition(from, to);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.reason).toBe('illegal-transition');
      expect(check.detail).toMatch(detail);
    }
  });

  it('no state may stay as it is, and every state can get back to available', () => {
    for (const state of VEHICLE_STATES) {
      expect(allowedTransitions(state)).not.toContain(state);
      if (state !== 'available') expect(allowedTransitions(state)).toContain('available');
    }
  });
});

describe('return rules', () => {
  const open: ReturnStation = { id: 'b', name: 'Open B', lat: 31.2304, lng: 121.4737, geofenceRadiusM: 100, capacity: 3, returnPolicy: 'open', parked: 1 };
  const roundTrip: ReturnStation = { ...open, id: 'c', name: 'Home C', returnPolicy: 'round-trip' };
  const atStation = { lat: 31.2304, lng: 121.4737, doorsLocked: true };
  const reasons = (startStationId: string, station: ReturnStation, vehicle: ReturningVehicle) =>
    checkReturn(startStationId, station, vehicle).map((r) => r.reason);

  it.each<[string, string, ReturnStation, ReturningVehicle, string[]]>([
    ['back at its own round-trip station', 'c', roundTrip, atStation, []],
    ['one-way to an open station', 'a', open, atStation, []],
    ['one-way to a round-trip station', 'a', roundTrip, atStation, ['round-trip-station']],
    ['to a full station', 'a', { ...open, parked: 3 }, atStation, ['station-full']],
    ['to an over-full station', 'a', { ...open, parked: 4 }, atStation, ['station-full']],
    ['to a station with no spaces at all', 'a', { ...open, capacity: 0, parked: 0 }, atStation, ['station-full']],
    ['with the doors closed but not locked', 'a', open, { ...atStation, doorsLocked: false }, ['doors-unlocked']],
    ['with a door open (open wins over unlocked)', 'a', open, { ...atStation, doorsLocked: false, doorsOpen: true }, ['doors-open']],
    ['with the ignition on', 'a', open, { ...atStation, ignition: true }, ['ignition-on']],
    ['ignition unknown (a car before the vehicle link)', 'a', open, { ...atStation, ignition: null }, []],
    ['a stale report', 'a', open, { ...atStation, fresh: false }, ['vehicle-not-reporting']],
    [
      'low charge, unplugged, at a station with piles',
      'a',
      { ...open, hasPiles: true },
      { ...atStation, socPct: 12, cableConnected: false },
      ['plug-in-required'],
    ],
    ['low charge, plugged in', 'a', { ...open, hasPiles: true }, { ...atStation, socPct: 12, cableConnected: true }, []],
    ['low charge at a station without piles', 'a', open, { ...atStation, socPct: 12, cableConnected: false }, []],
    ['at the plug-in threshold', 'a', { ...open, hasPiles: true }, { ...atStation, socPct: 20, cableConnected: false }, []],
    ['before the car reported a position', 'a', open, { lat: null, lng: null, doorsLocked: true }, ['position-unknown']],
    ['99 m away (inside 100 m)', 'a', open, { ...atStation, lat: 31.2304 + 99 / 111_195 }, []],
    ['101 m away (outside 100 m)', 'a', open, { ...atStation, lat: 31.2304 + 101 / 111_195 }, ['outside-geofence']],
    [
      'everything wrong at once, most fundamental first',
      'a',
      { ...roundTrip, parked: 3 },
      { lat: 0, lng: 0, doorsLocked: false },
      ['round-trip-station', 'station-full', 'doors-unlocked', 'outside-geofence'],
    ],
  ])('%s', (_name, start, station, vehicle, expected) => {
    expect(reasons(start, station, vehicle)).toEqual(expected);
  });

  it('every refusal explains itself', () => {
    const everything = { lat: 0, lng: 0, doorsLocked: false, doorsOpen: true, ignition: true, socPct: 5, cableConnected: false, fresh: false };
    const refusals = checkReturn('a', { ...roundTrip, parked: 3, hasPiles: true }, everything);
    expect(refusals.map((r) => r.reason)).toEqual([
      'round-trip-station',
      'station-full',
      'vehicle-not-reporting',
      'doors-open',
      'ignition-on',
      'plug-in-required',
      'outside-geofence',
    ]);
    for (const refusal of refusals) expect(refusal.detail.length).toBeGreaterThan(20);
  });

  it('haversine distance', () => {
    expect(distanceM({ lat: 0, lng: 0 }, { lat: 0, lng: 0 })).toBe(0);
    // Two points in central Shanghai about 1.9 km apart.
    expect(distanceM({ lat: 31.2304, lng: 121.4737 }, { lat: 31.24, lng: 121.49 })).toBeGreaterThan(1_800);
    expect(distanceM({ lat: 31.2304, lng: 121.4737 }, { lat: 31.24, lng: 121.49 })).toBeLessThan(2_000);
    // One degree of latitude is about 111.2 km.
    expect(distanceM({ lat: 0, lng: 0 }, { lat: 1, lng: 0 })).toBeCloseTo(111_195, -1);
  });
});
