import type { KeyObject } from 'node:crypto';
import { DEFAULT_TOPIC_ROOT, type VehicleCredential } from '@evshare/telematics';
import { startRentalAutopilot, type PilotPhase, type RentalAutopilotOptions } from './autopilot';
import { SimCar, type CarCounters } from './car';
import { seededRandom, type Random } from '@evshare/kit';

/** Stations around Shanghai the cars start at (the demo fleet's area). */
export const SHANGHAI_STATIONS = [
  { name: "People's Square", lat: 31.2304, lng: 121.4737 },
  { name: 'Lujiazui', lat: 31.2397, lng: 121.4998 },
  { name: 'Hongqiao', lat: 31.1979, lng: 121.3363 },
  { name: 'Xujiahui', lat: 31.195, lng: 121.4365 },
  { name: "Jing'an Temple", lat: 31.2235, lng: 121.4452 },
];

export interface FleetOptions {
  brokerUrl: string;
  /** CA certificates (PEM) to trust for an `mqtts://` broker. */
  ca?: Buffer;
  seed: number | string;
  /** The cars' credentials (VIN and secret). */
  credentials?: VehicleCredential[];
  /** Without credentials: anonymous cars with these VINs (a broker that allows anonymous clients). */
  vins?: string[];
  count?: number;
  topicRoot?: string;
  telemetryParkedMs?: number;
  telemetryDrivingMs?: number;
  /** Random trips, charging and offline periods, one decision per car per tick. */
  autopilot?: { tickMs?: number; tripChance?: number; offlineChance?: number };
  log?: (line: string) => void;
  /** Rented cars drive themselves once the member unlocked them (autopilot.ts); off unless given. */
  rentals?: Omit<RentalAutopilotOptions, 'log'>;
  /** The platform's app-key public key (PEM or key), provisioned into every terminal. */
  platformKey?: string | KeyObject;
  /** Where each car starts, by VIN (the platform's record of it); otherwise near a Shanghai station. */
  starts?: Record<string, { lat: number; lng: number }>;
}

export interface Fleet {
  cars: SimCar[];
  car(vin: string): SimCar;
  /** What the rental autopilot is doing with the car (undefined without the autopilot). */
  pilotPhase(vin: string): PilotPhase | undefined;
  summary(): CarCounters & { cars: number; connected: number; tripsPending: number };
  stop(): Promise<void>;
}

const VIN_ALPHABET = '0123456789ABCDEFGHJKLMNPRSTUVWXYZ';
/** Deterministic VINs for anonymous fleets: LSVM + 13 characters from the seed and index. */
export function simulatedVin(random: Random): string {
  let tail = '';
  for (let i = 0; i < 13; i++) tail += VIN_ALPHABET[random.int(VIN_ALPHABET.length)];
  return `LSVM${tail}`;
}

/**
 * Starts a fleet of simulated terminals, each its own MQTT connection; without credentials or
 * VINs, `count` anonymous cars with generated VINs. With the same seed the
 * same cars start at the same places and the autopilot makes the same decisions.
 */
export async function startVehicleFleet(options: FleetOptions): Promise<Fleet> {
  const random = seededRandom(options.seed);
  const credentials: Array<{ vin: string; secret?: string }> = options.credentials
    ? options.credentials.slice(0, options.count ?? options.credentials.length)
    : (options.vins ?? Array.from({ length: options.count ?? 1 }, () => simulatedVin(random))).map((vin) => ({ vin }));
  const cars = credentials.map((credential, i) => {
    const station = SHANGHAI_STATIONS[i % SHANGHAI_STATIONS.length]!;
    const r = random.fork(credential.vin);
    return new SimCar({
      vin: credential.vin,
      ...(credential.secret === undefined ? {} : { secret: credential.secret }),
      brokerUrl: options.brokerUrl,
      ...(options.ca ? { ca: options.ca } : {}),
      topicRoot: options.topicRoot ?? DEFAULT_TOPIC_ROOT,
      start: {
        lat: station.lat + (r.next() - 0.5) * 0.002,
        lng: station.lng + (r.next() - 0.5) * 0.002,
        socPct: 60 + r.int(40),
        odometerM: 1000 + r.int(50_000_000),
        ...options.starts?.[credential.vin],
      },
      telemetryParkedMs: options.telemetryParkedMs ?? 10_000,
      telemetryDrivingMs: options.telemetryDrivingMs ?? 2_000,
      ...(options.platformKey === undefined ? {} : { platformKey: options.platformKey }),
    });
  });
  await Promise.all(cars.map((car) => car.connect()));
  const byVin = new Map(cars.map((car) => [car.vin, car]));

  const log = options.log ?? (() => undefined);
  const rentals = options.rentals ? startRentalAutopilot(cars, { ...options.rentals, log }) : undefined;
  let autopilot: NodeJS.Timeout | undefined;
  if (options.autopilot) {
    const { tickMs = 1_000, tripChance = 0.002, offlineChance = 0.001 } = options.autopilot;
    const pilots = cars.map((car) => ({ car, random: random.fork(`pilot:${car.vin}`), heading: 0, ticksLeft: 0, offlineTicks: 0 }));
    autopilot = setInterval(() => {
      for (const p of pilots) {
        const { car } = p;
        if (p.offlineTicks > 0 && --p.offlineTicks === 0) {
          void car.connect().then(() => log(`${car.vin} back online, ${car.storedTrips.length} trip(s) to upload`));
        } else if (p.offlineTicks === 0 && car.connected && p.random.next() < offlineChance) {
          p.offlineTicks = 20 + p.random.int(70);
          car.goOffline();
          log(`${car.vin} lost its connection for ${p.offlineTicks} ticks`);
        }
        if (car.trip) {
          car.step(tickMs, 20 + p.random.int(40), p.heading);
          if (--p.ticksLeft <= 0) {
            const trip = car.endTrip();
            if (trip)
              log(
                `${car.vin} trip ${trip.tripId} ended: ${((trip.endOdometerM - trip.startOdometerM) / 1000).toFixed(1)} km${trip.offline ? ' (offline)' : ''}`,
              );
          }
        } else if (car.physics.socPct < 80) car.chargeFor(tickMs, 7);
        else car.cableConnected = false;
        // Someone on the car's lists walks up and holds their card to it (app keys come from the
        // platform, which the simulator is not).
        const holders = [...car.whitelist.entries.map((e) => [e.memberId, e.cardUids] as const), ...car.fleet.members].filter(([, cards]) => cards.length > 0);
        const entry = holders[p.random.int(Math.max(1, holders.length))];
        if (!car.trip && entry && p.random.next() < tripChance) {
          const [memberId, cards] = entry;
          if (car.localUnlock({ cardUid: cards[0]! })) {
            car.cableConnected = false;
            p.heading = p.random.next() * 2 * Math.PI;
            p.ticksLeft = 20 + p.random.int(100);
            log(`${car.vin} unlocked locally for ${memberId}`);
          }
        }
      }
    }, tickMs);
  }

  return {
    cars,
    car(vin) {
      const car = byVin.get(vin);
      if (!car) throw new Error(`no simulated car ${vin}`);
      return car;
    },
    pilotPhase: (vin) => rentals?.phase(vin),
    summary() {
      const total = { cars: cars.length, connected: 0, tripsPending: 0 } as CarCounters & { cars: number; connected: number; tripsPending: number };
      for (const car of cars) {
        if (car.connected) total.connected++;
        total.tripsPending += car.storedTrips.length;
        for (const [key, value] of Object.entries(car.counters) as Array<[keyof CarCounters, number]>) total[key] = (total[key] ?? 0) + value;
      }
      return total;
    },
    async stop() {
      clearInterval(autopilot);
      rentals?.stop();
      await Promise.all(cars.map((car) => car.close()));
    },
  };
}
