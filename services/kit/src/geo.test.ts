import { distanceM, stationAt } from './geo';

const near = { id: 'near', lat: 31.2, lng: 121.4, geofenceRadiusM: 150 };
const overlapping = { id: 'overlapping', lat: 31.2012, lng: 121.4, geofenceRadiusM: 200 };
const far = { id: 'far', lat: 31.3, lng: 121.4, geofenceRadiusM: 5000 };

describe('geo', () => {
  it.each([
    [{ lat: 31.2, lng: 121.4 }, { lat: 31.2, lng: 121.4 }, 0],
    // A thousandth of a degree of latitude is about 111 m.
    [{ lat: 31.2, lng: 121.4 }, { lat: 31.201, lng: 121.4 }, 111],
    [{ lat: 31.2304, lng: 121.4737 }, { lat: 39.9042, lng: 116.4074 }, 1_067_000],
  ])('distanceM(%j, %j) is about %d m', (a, b, metres) => {
    expect(distanceM(a, b)).toBeCloseTo(metres, -3);
    expect(distanceM(b, a)).toBeCloseTo(distanceM(a, b), 6);
  });

  it.each([
    ['inside one geofence', { lat: 31.2005, lng: 121.4 }, 'near'],
    ['inside two: the nearer centre', { lat: 31.2009, lng: 121.4 }, 'overlapping'],
    ['on the edge (150 m south)', { lat: 31.2 - 149.9 / 111_195, lng: 121.4 }, 'near'],
    ['just beyond the edge', { lat: 31.2 - 151 / 111_195, lng: 121.4 }, undefined],
    ['outside every station', { lat: 31.25, lng: 121.4 }, undefined],
    ['inside a wide geofence only', { lat: 31.28, lng: 121.4 }, 'far'],
  ])('stationAt: %s', (_, at, id) => {
    expect(stationAt([near, overlapping, far], at)?.id).toBe(id);
  });

  it('finds no station in an empty list', () => {
    expect(stationAt([], { lat: 0, lng: 0 })).toBeUndefined();
  });
});
