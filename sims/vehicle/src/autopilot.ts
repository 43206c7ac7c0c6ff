import { seededRandom } from '@evshare/kit';
import type { SimCar } from './car';

/**
 * The rented car's driver for the demo: once the member renting the car has unlocked it over the vehicle link
 * (the app's unlock, not a local card unlock, which the random autopilot handles), somebody gets
 * in, drives a short way out, then to the nearest station, parks there with the doors closed and
 * the ignition off, and waits for the member to lock it. Odometer, position and charge change as
 * the car's physics say (drive in model.ts), at a plausible speed.
 */
export interface ParkingStation {
  lat: number;
  lng: number;
  name?: string;
}

export interface RentalAutopilotOptions {
  /** Where rented cars park at the end of their trip (the nearest one to where the trip leads). */
  stations: ParkingStation[];
  /** Driving speed (default 40 km/h). */
  speedKmh?: number;
  /** How far the car drives away before heading to the nearest station (default 0.5 km). */
  outboundKm?: number;
  /** Simulated milliseconds per real millisecond (default 1; tests use more for a quicker trip). */
  timeScale?: number;
  tickMs?: number;
  seed?: number | string;
  log?: (line: string) => void;
}

export type PilotPhase = 'parked' | 'boarding' | 'outbound' | 'inbound' | 'waiting-for-lock';

const M_PER_DEG_LAT = 111_320;
/** A car this close to the station's point is parked there (well inside any geofence). */
const ARRIVED_M = 10;

/** Metres north and east from `from` to `to` (flat-earth: fine over a few kilometres). */
export function offsetM(from: { lat: number; lng: number }, to: { lat: number; lng: number }): { north: number; east: number } {
  return { north: (to.lat - from.lat) * M_PER_DEG_LAT, east: (to.lng - from.lng) * M_PER_DEG_LAT * Math.cos((from.lat * Math.PI) / 180) };
}

/** The heading (0 = north, clockwise, radians) and distance from `from` to `to`. */
export function bearing(from: { lat: number; lng: number }, to: { lat: number; lng: number }): { headingRad: number; metres: number } {
  const { north, east } = offsetM(from, to);
  return { headingRad: Math.atan2(east, north), metres: Math.hypot(north, east) };
}

export function nearestStation<S extends { lat: number; lng: number }>(position: { lat: number; lng: number }, stations: readonly S[]): S | undefined {
  let best: S | undefined;
  let bestM = Infinity;
  for (const station of stations) {
    const { metres } = bearing(position, station);
    if (metres < bestM) [best, bestM] = [station, metres];
  }
  return best;
}

interface Pilot {
  car: SimCar;
  phase: PilotPhase;
  headingRad: number;
  outboundLeftM: number;
  target: ParkingStation | undefined;
}

export interface RentalAutopilot {
  phase(vin: string): PilotPhase | undefined;
  stop(): void;
}

/** Why a car cannot be driven to a station by hand now (the developer panel's drive). */
export type DriveRefusal = 'locked' | 'immobilised' | 'autopilot-driving';

/**
 * Nobody drives a locked car (nobody is in it) or an immobilised one, and the rental autopilot's
 * trip is not taken over halfway (it would head on to its own station).
 */
export function driveRefusal(car: { locked: boolean; immobilised: boolean }, phase: PilotPhase | undefined): DriveRefusal | undefined {
  if (car.immobilised) return 'immobilised';
  if (car.locked) return 'locked';
  if (phase === 'boarding' || phase === 'outbound' || phase === 'inbound') return 'autopilot-driving';
  return undefined;
}

export type StepOutcome = 'driving' | 'arrived' | 'stopped';

/**
 * One step of a drive straight to `target`: `dtMs` at `speedKmh` (its physics: odometer and charge
 * change), never past the target. `stopped`: the car could not go on (an empty battery, locked or
 * immobilised on the way).
 */
export function stepTowards(car: SimCar, target: { lat: number; lng: number }, speedKmh: number, dtMs: number): StepOutcome {
  const { headingRad, metres } = bearing(car.physics, target);
  if (metres <= ARRIVED_M) return 'arrived';
  const stepM = (speedKmh / 3.6) * (dtMs / 1000);
  car.step(Math.min(dtMs, ((metres - ARRIVED_M / 2) / stepM) * dtMs), speedKmh, headingRad);
  if (bearing(car.physics, target).metres <= ARRIVED_M) return 'arrived';
  return car.physics.speedKmh === 0 ? 'stopped' : 'driving';
}

/**
 * Parks where the car stands: ignition off, doors closed, telemetry sent. A trip the car started
 * itself (a card held to it: a walk-up) ends there: the member gets out, the car locks and
 * uploads the trip, which ends the walk-up rental. A rental unlocked through the app waits for
 * the member's lock, as after the autopilot's trip.
 */
export function park(car: SimCar): { tripEnded: boolean } {
  car.physics = { ...car.physics, speedKmh: 0 };
  car.ignition = false;
  car.doorsOpen = false;
  const tripEnded = car.trip !== undefined && car.endTrip() !== undefined;
  car.sendTelemetry();
  return { tripEnded };
}

export function startRentalAutopilot(cars: readonly SimCar[], options: RentalAutopilotOptions): RentalAutopilot {
  const { stations, speedKmh = 40, outboundKm = 0.5, timeScale = 1, tickMs = 500 } = options;
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed ?? 1);
  const pilots = new Map<string, Pilot>(cars.map((car) => [car.vin, { car, phase: 'parked', headingRad: 0, outboundLeftM: 0, target: undefined }]));
  const timer = setInterval(() => {
    for (const pilot of pilots.values()) {
      const { car } = pilot;
      const dtMs = tickMs * timeScale;
      // Locked on the way (the rental ended, or an operator's lock): the car stops where it is.
      if (car.locked && (pilot.phase === 'boarding' || pilot.phase === 'outbound' || pilot.phase === 'inbound')) {
        car.physics = { ...car.physics, speedKmh: 0 };
        car.ignition = false;
        car.doorsOpen = false;
        pilot.phase = 'parked';
        pilot.target = undefined;
        car.sendTelemetry();
        continue;
      }
      switch (pilot.phase) {
        case 'parked':
          // Unlocked over the link while a member holds it (its list names a renter; an operator's
          // unlock of a free car moves nothing). A local unlock starts the car's own trip instead.
          if (!car.locked && !car.trip && !car.immobilised && car.whitelist.entries.some((entry) => entry.role === 'renter')) {
            car.doorsOpen = true;
            car.sendTelemetry();
            pilot.phase = 'boarding';
          }
          break;
        case 'boarding':
          car.doorsOpen = false;
          pilot.headingRad = random.next() * 2 * Math.PI;
          pilot.outboundLeftM = outboundKm * 1000;
          pilot.phase = pilot.outboundLeftM > 0 ? 'outbound' : 'inbound';
          log(`${car.vin} rented: driving off`);
          break;
        case 'outbound': {
          const before = car.physics.odometerM;
          car.step(dtMs, speedKmh, pilot.headingRad);
          pilot.outboundLeftM -= car.physics.odometerM - before;
          if (pilot.outboundLeftM <= 0 || car.physics.speedKmh === 0) pilot.phase = 'inbound';
          break;
        }
        case 'inbound': {
          pilot.target ??= nearestStation(car.physics, stations);
          const target = pilot.target;
          // Arrived (or the battery is empty, or the member locked it on the way): park.
          if (!target || stepTowards(car, target, speedKmh, dtMs) !== 'driving') {
            car.physics = { ...car.physics, speedKmh: 0 };
            car.ignition = false;
            car.doorsOpen = false;
            car.sendTelemetry();
            pilot.phase = 'waiting-for-lock';
            pilot.target = undefined;
            log(`${car.vin} parked${target?.name ? ` at ${target.name}` : ''}, waiting for the member to lock it`);
          }
          break;
        }
        case 'waiting-for-lock':
          if (car.locked) pilot.phase = 'parked';
          break;
      }
    }
  }, tickMs);
  timer.unref();
  return {
    phase: (vin) => pilots.get(vin)?.phase,
    stop: () => clearInterval(timer),
  };
}
