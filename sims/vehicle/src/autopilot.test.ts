import { bearing, nearestStation } from './autopilot';

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
