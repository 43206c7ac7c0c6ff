import { createHealth, createHttpApp, createMetrics, isDevelopment, listen, Problem, problems, validate, type Logger, type Pool } from '@evshare/kit';
import { bearing, driveRefusal, park, stepTowards, type Fleet, type SimCar } from '@evshare/sim-vehicle';
import { PANEL_CSP, panelPage, panelScript, panelStyle } from './dev-panel-page';
import { cardBody, DevPanelRefused, driveBody, panelRequestRefusal, signalBody, vinParams } from './dev-panel-rules';

/** How long restoring a car's signal may take before the panel answers with the car still offline. */
const RECONNECT_BOUND_MS = 5_000;
/** A drive advances by the time passed, this often (the car's telemetry shows it moving). */
const DRIVE_TICK_MS = 250;

/** A car on its way to a station by the panel's hand. */
interface Drive {
  station: { id: string; name: string; lat: number; lng: number };
  speedKmh: number;
  timer: NodeJS.Timeout;
}

export interface DevPanel {
  url: string;
  stop(): Promise<void>;
}

/**
 * The developer panel of `make run`: a page and a small JSON surface on 127.0.0.1 that act as a
 * person at a simulated car would: hold a member's card to it (the car decides from its own lists
 * and, granted, unlocks and starts a walk-up trip), cut and restore its signal, and drive it to a
 * station and park. Every change goes through the simulated terminal, none through the
 * platform's database or bus (read only for the stations and what the page shows): the platform
 * sees only what a real car would send. Refused outside development (dev-panel-rules.ts decides
 * whether the stack mounts it at all).
 */
export async function startDevPanel(options: { fleet: Fleet; db: Pool; log: Logger; port: number; nodeEnv: string | undefined }): Promise<DevPanel> {
  const { fleet, db, log } = options;
  if (!isDevelopment(options.nodeEnv)) throw new DevPanelRefused(`the developer panel is for development only (NODE_ENV=${options.nodeEnv ?? '(unset)'})`);
  const byVin = new Map(fleet.cars.map((car) => [car.vin, car]));
  const drives = new Map<string, Drive>();
  const view = (car: SimCar) => {
    const drive = drives.get(car.vin);
    return { ...carView(car), driving: drive ? { stationId: drive.station.id, station: drive.station.name, speedKmh: drive.speedKmh } : null };
  };
  /**
   * Drives in real time, as a person would: the platform judges a trip by its distance over its
   * duration (a car faster than physics is held for review), so the panel does not teleport.
   */
  const startDrive = (car: SimCar, station: Drive['station'], speedKmh: number) => {
    clearInterval(drives.get(car.vin)?.timer);
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      // The rental autopilot took the car over (an unlock through the app): its trip, not this one.
      const takenOver = driveRefusal(car, fleet.pilotPhase(car.vin)) === 'autopilot-driving';
      const outcome = takenOver ? 'taken-over' : stepTowards(car, station, speedKmh, now - last);
      last = now;
      if (outcome === 'driving') return;
      clearInterval(timer);
      drives.delete(car.vin);
      if (outcome === 'taken-over') return;
      const { tripEnded } = park(car);
      log.info({ vin: car.vin, station: station.name, outcome, tripEnded }, 'developer panel: car parked');
    }, DRIVE_TICK_MS);
    drives.set(car.vin, { station, speedKmh, timer });
  };
  const carOf = (params: unknown): SimCar => {
    const { vin } = validate(vinParams, params, 'path');
    const car = byVin.get(vin);
    if (!car) throw problems.notFound(`No simulated car ${vin}`);
    return car;
  };

  const app = createHttpApp({
    log,
    metrics: createMetrics('dev-panel'),
    health: createHealth(),
    bodyLimit: '4kb',
    routes: (app) => {
      app.use((req, res, next) => {
        const refusal = panelRequestRefusal(req.method, {
          host: req.headers.host,
          origin: req.headers.origin,
          'sec-fetch-site': single(req.headers['sec-fetch-site']),
        });
        next(refusal ? new Problem(403, 'dev-panel-refused', 'Refused by the developer panel', refusal) : undefined);
      });
      app.get('/', (_req, res) => {
        res.setHeader('Content-Security-Policy', PANEL_CSP);
        res.setHeader('Cache-Control', 'no-cache');
        res.type('html').send(panelPage());
      });
      app.get('/panel.js', (_req, res) => {
        res.setHeader('Cache-Control', 'no-cache');
        res.type('text/javascript').send(panelScript());
      });
      app.get('/panel.css', (_req, res) => {
        res.setHeader('Cache-Control', 'no-cache');
        res.type('text/css').send(panelStyle());
      });

      app.get('/api/state', async (_req, res) => {
        const [vehicles, stations, cards] = await Promise.all([
          db.query<{ vin: string; plate: string; state: string }>('SELECT vin, plate, state FROM vehicles'),
          db.query<{ id: string; name: string; lat: number; lng: number }>('SELECT id, name, lat, lng FROM stations ORDER BY name, id'),
          db.query<{ uid: string; member: string }>(
            `SELECT c.uid, coalesce(m.display_name, m.username, m.phone, m.id::text) AS member
               FROM membership_cards c JOIN members m ON m.id = c.member_id ORDER BY c.bound_at DESC, c.uid LIMIT 200`,
          ),
        ]);
        const platform = new Map(vehicles.rows.map((row) => [row.vin, row]));
        res.json({
          cars: fleet.cars.map((car) => ({
            vin: car.vin,
            plate: platform.get(car.vin)?.plate ?? null,
            state: platform.get(car.vin)?.state ?? null,
            ...view(car),
            pilot: fleet.pilotPhase(car.vin) ?? null,
          })),
          stations: stations.rows,
          cards: cards.rows,
        });
      });

      app.post('/api/cars/:vin/card', (req, res) => {
        const car = carOf(req.params);
        const { cardUid } = validate(cardBody, req.body, 'body');
        if (!car.localUnlock({ cardUid })) {
          throw new Problem(403, 'card-refused', 'The car refused the card', `The car keeps its doors locked: ${car.lastRefusal ?? 'not on its lists'}`, {
            reason: car.lastRefusal ?? 'not-listed',
          });
        }
        log.info({ vin: car.vin, cardUid }, 'developer panel: card held to the car, granted');
        res.json(view(car));
      });

      app.post('/api/cars/:vin/signal', async (req, res) => {
        const car = carOf(req.params);
        const { online } = validate(signalBody, req.body, 'body');
        if (!online) car.goOffline();
        else if (!car.connected) {
          // The car reconnects by itself later if the broker is slow; the answer says where it stands.
          const bound = new Promise((resolve) => setTimeout(resolve, RECONNECT_BOUND_MS).unref());
          await Promise.race([car.connect().catch(() => undefined), bound]);
        }
        log.info({ vin: car.vin, online }, 'developer panel: signal changed');
        res.json(view(car));
      });

      app.post('/api/cars/:vin/drive', async (req, res) => {
        const car = carOf(req.params);
        const { stationId, speedKmh } = validate(driveBody, req.body, 'body');
        const { rows } = await db.query<Drive['station']>('SELECT id, name, lat, lng FROM stations WHERE id = $1', [stationId]);
        const station = rows[0];
        if (!station)
          throw new Problem(404, 'not-found', 'Not found', `No station ${stationId}`, {
            invalidParams: [{ name: 'body.stationId', reason: 'no such station' }],
          });
        const refusal = driveRefusal(car, fleet.pilotPhase(car.vin));
        if (refusal) throw problems.conflict(`car-${refusal}`, DRIVE_REFUSALS[refusal]);
        startDrive(car, station, speedKmh);
        const { metres } = bearing(car.physics, station);
        log.info({ vin: car.vin, station: station.name, metres: Math.round(metres), speedKmh }, 'developer panel: car driving to a station');
        res.status(202).json({ metres: Math.round(metres), etaSeconds: Math.ceil(metres / (speedKmh / 3.6)), car: view(car) });
      });
    },
  });
  const server = await listen(app, options.port, '127.0.0.1');
  return {
    url: server.url,
    async stop() {
      for (const drive of drives.values()) clearInterval(drive.timer);
      drives.clear();
      await server.close(2_000);
    },
  };
}

const DRIVE_REFUSALS = {
  locked: 'The car is locked: nobody is in it to drive (hold a card to it, or unlock it through the app)',
  immobilised: 'The car is immobilised by an operator',
  'autopilot-driving': 'The rental autopilot is driving this car to its station; wait until it has parked',
} as const;

/** What the simulated terminal knows of itself. */
function carView(car: SimCar) {
  return {
    connected: car.connected,
    locked: car.locked,
    immobilised: car.immobilised,
    ignition: car.ignition,
    doorsOpen: car.doorsOpen,
    walkUp: car.trip ? { memberId: car.trip.memberId, tripId: car.trip.tripId, offline: car.trip.offline } : null,
    tripsToUpload: car.storedTrips.length,
    lat: car.physics.lat,
    lng: car.physics.lng,
    socPct: Math.round(car.physics.socPct * 10) / 10,
    odometerM: car.physics.odometerM,
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
