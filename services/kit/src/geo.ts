const EARTH_RADIUS_M = 6_371_008.8;

export interface Point {
  lat: number;
  lng: number;
}

/** Great-circle distance in metres (haversine; plenty for geofences of tens to thousands of metres). */
export function distanceM(a: Point, b: Point): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The station a car stands at: the nearest whose geofence holds the position (geofences may
 * overlap), or undefined outside every station.
 */
export function stationAt<S extends Point & { geofenceRadiusM: number }>(stations: readonly S[], at: Point): S | undefined {
  let best: { station: S; metres: number } | undefined;
  for (const station of stations) {
    const metres = distanceM(station, at);
    if (metres <= station.geofenceRadiusM && (!best || metres < best.metres)) best = { station, metres };
  }
  return best?.station;
}
