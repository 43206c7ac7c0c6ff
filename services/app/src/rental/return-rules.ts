import { distanceM } from '@evshare/kit';
import type { Station } from './model';

export { distanceM };

/**
 * End-of-trip checks: may this car be returned at this station now? Pure: the caller reads the
 * station (locked, so two cars cannot take the last space), its parked cars, and the car's last
 * report. Every refusal has a stable machine reason and a sentence for the member.
 */
export type ReturnStation = Omit<Station, 'availableCars' | 'freeParking'> & {
  /** Cars parked at the station now (the returning car is not among them: it is driving). */
  parked: number;
  /** Whether the station has charging piles (a car low on charge is plugged in there). */
  hasPiles?: boolean;
};

/** The car's last report. The optional fields are absent from reports before the vehicle link. */
export interface ReturningVehicle {
  lat: number | null;
  lng: number | null;
  doorsLocked: boolean;
  doorsOpen?: boolean;
  ignition?: boolean | null;
  cableConnected?: boolean | null;
  socPct?: number;
  /** False when the car has not reported recently (and could not be made to). */
  fresh?: boolean;
}

export type ReturnRefusalReason =
  | 'round-trip-station'
  | 'station-full'
  | 'vehicle-not-reporting'
  | 'doors-open'
  | 'doors-unlocked'
  | 'ignition-on'
  | 'plug-in-required'
  | 'position-unknown'
  | 'outside-geofence';

/** Below this charge a car returned at a station with piles must be plugged in. */
export const PLUG_IN_BELOW_PCT = 20;

export interface ReturnRefusal {
  reason: ReturnRefusalReason;
  detail: string;
}

/** Every reason the return is refused, most fundamental first; empty when it may proceed. */
export function checkReturn(startStationId: string, station: ReturnStation, vehicle: ReturningVehicle): ReturnRefusal[] {
  const refusals: ReturnRefusal[] = [];
  const oneWay = station.id !== startStationId;
  if (oneWay && station.returnPolicy === 'round-trip') {
    refusals.push({
      reason: 'round-trip-station',
      detail: `${station.name} only takes back cars rented there; return the car to its start station or to a station open to one-way returns`,
    });
  }
  if (station.parked >= station.capacity) {
    refusals.push({ reason: 'station-full', detail: `${station.name} has no free parking space (${station.parked} of ${station.capacity} taken)` });
  }
  if (vehicle.fresh === false) {
    refusals.push({
      reason: 'vehicle-not-reporting',
      detail:
        'The car has not reported recently, so its position and doors cannot be checked; make sure it has signal (leave the underground car park) and try again',
    });
  }
  if (vehicle.doorsOpen)
    refusals.push({ reason: 'doors-open', detail: 'A door, the boot or the bonnet is open; close them all (the car is then locked for you), then try again' });
  else if (!vehicle.doorsLocked)
    refusals.push({ reason: 'doors-unlocked', detail: 'The doors are closed but the car did not lock; lock it from the app, then try again' });
  if (vehicle.ignition)
    refusals.push({ reason: 'ignition-on', detail: 'The car is switched on; switch it off (ignition off, parking brake on), then try again' });
  if (station.hasPiles && vehicle.socPct !== undefined && vehicle.socPct < PLUG_IN_BELOW_PCT && vehicle.cableConnected === false) {
    refusals.push({
      reason: 'plug-in-required',
      detail: `The charge is ${Math.round(vehicle.socPct)} %, below ${PLUG_IN_BELOW_PCT} %; plug the car into a charging pile at ${station.name}, then try again`,
    });
  }
  if (vehicle.lat === null || vehicle.lng === null) {
    refusals.push({ reason: 'position-unknown', detail: 'The car has not reported its position yet; wait a moment and try again' });
  } else {
    const away = distanceM(vehicle as { lat: number; lng: number }, station);
    if (away > station.geofenceRadiusM) {
      refusals.push({
        reason: 'outside-geofence',
        detail: `The car is ${Math.round(away)} m from ${station.name}; park within ${station.geofenceRadiusM} m of it`,
      });
    }
  }
  return refusals;
}
