import {
  admissionSettings,
  createHealth,
  createHttpApp,
  createMemoryStore,
  createMetrics,
  createSessionStore,
  listen,
  listenForNotifications,
  type Bus,
  type KeyValueStore,
  type Logger,
  type Pool,
  type RunningService,
  type SessionStore,
} from '@evshare/kit';
import { createAmbientFeeds } from './ambient';
import { createCentralSystem, OCPP_PATH } from './central';
import type { ChargingConfig } from './config';
import { chargingRoutes } from './http';
import { createChargingRepository } from './repository';
import { createReservationJob } from './reservations';
import { createPileRouter } from './routing';
import { createSmartCharging } from './smart';
import type { Tariff } from './tariff';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ChargingDeps {
  config: ChargingConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  /** Members' sessions (the login-state database); without it only piles can connect. */
  sessions?: SessionStore;
  /** The login-state store, used to make a session store when none is given. */
  cache?: KeyValueStore;
}

export type RunningCharging = RunningService & {
  instanceId: string;
  /** Plans a station now (tests and operators). */
  planStation(stationId: string): Promise<unknown>;
  /** Runs the reservation job and the billing sweep once (tests). */
  tick(): Promise<void>;
  connectedPiles(): number;
};

/**
 * The charging service: the OCPP 1.6J central system on /ocpp/<chargePointId>, the member and
 * operator API on /api/v1/charging, reserved charging and smart charging. Several instances may
 * run; calls to a pile are routed over NATS to the instance holding its socket.
 */
export async function startCharging(deps: ChargingDeps): Promise<RunningCharging> {
  const { config, log, db, bus } = deps;
  const instanceId = config.INSTANCE_ID;
  const health = createHealth();
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('bus', () => bus.ping());
  const metrics = createMetrics('charging', instanceId);
  const sessions = deps.sessions ?? createSessionStore({ store: deps.cache ?? createMemoryStore(), bus, log, ttlMs: config.SESSION_TTL_MS });
  const tariff: Tariff = {
    spans: config.TARIFF_BANDS,
    fenPerKwh: { peak: config.TARIFF_PEAK_FEN_PER_KWH, flat: config.TARIFF_FLAT_FEN_PER_KWH, valley: config.TARIFF_VALLEY_FEN_PER_KWH },
  };

  // Piles this instance held before a crash are not connected any more.
  const repo = createChargingRepository(db);
  await repo.releaseInstance(instanceId);

  // Late-bound: the router needs the central system's sockets, and the central system the planner
  // (smart, made below; onChange runs on piles' messages, bookings and ticks, none before it is).
  const callPile = async (pileId: string, method: string, params: unknown) => router.call(pileId, await repo.holderOf(pileId), method, params);
  const onChange = (stationId: string, reason: string) => {
    if (config.SMART_CHARGING_ENABLED) smart.schedule(stationId, reason);
  };

  const central = createCentralSystem({
    db,
    bus,
    log,
    metrics,
    instanceId,
    tariff,
    heartbeatIntervalS: config.OCPP_HEARTBEAT_INTERVAL_S,
    pingIntervalMs: config.OCPP_PING_INTERVAL_MS,
    callTimeoutMs: config.OCPP_CALL_TIMEOUT_MS,
    maxFrameBytes: config.OCPP_MAX_FRAME_BYTES,
    maxConnectors: config.OCPP_MAX_CONNECTORS,
    limits: { clockToleranceMs: config.OCPP_CLOCK_TOLERANCE_MS, energyMargin: config.OCPP_ENERGY_MARGIN },
    onChange,
    onBoot(pileId) {
      void (async () => {
        const pile = await repo.pileSwitch(pileId);
        if (!pile) return;
        // The operator's switch outlives the pile's own memory.
        if (!pile.enabled) await callPile(pileId, 'ChangeAvailability', { connectorId: 0, type: 'Inoperative' });
        onChange(pile.stationId, 'connected');
      })().catch((error: unknown) => log.warn({ err: error, pileId }, 'post-boot setup failed'));
    },
  });
  const router = createPileRouter({ bus, log, instanceId, local: central, timeoutMs: config.OCPP_CALL_TIMEOUT_MS });
  const smart = createSmartCharging({
    db,
    log,
    metrics,
    tariff,
    horizonSlots: config.SMART_CHARGING_HORIZON_SLOTS,
    defaultCapW: config.STATION_CAP_DEFAULT_W,
    defaultAmbientC: config.AMBIENT_DEFAULT_C,
    defaultBatteryKwh: config.DEFAULT_BATTERY_KWH,
    pileVoltageV: config.PILE_VOLTAGE_V,
    pilePhases: config.PILE_PHASES,
    debounceMs: config.SMART_CHARGING_DEBOUNCE_MS,
    instanceId,
    callPile,
  });
  const reservations = createReservationJob({
    db,
    log,
    metrics,
    leadMs: config.RESERVATION_LEAD_MS,
    callPile,
    onChange: (stationId) => onChange(stationId, 'booking'),
  });

  // Rental holds and rentals are written by APP; the database triggers of 0004_vehicle_link
  // notify the changed car's id on vehicle_access (the telematics service's whitelist channel;
  // '*', a staff change, concerns no booking). After a broken connection every station is planned.
  const vehicleAccess = config.SMART_CHARGING_ENABLED
    ? await listenForNotifications(db, {
        channel: 'vehicle_access',
        log,
        retryMs: config.SMART_CHARGING_LISTEN_RETRY_MS,
        onNotification: (payload) => {
          if (UUID.test(payload)) smart.vehicleChanged(payload);
        },
        onReconnect: () => void smart.planAll().catch((error: unknown) => log.error({ err: error }, 'planning after reconnect failed')),
      })
    : undefined;
  if (vehicleAccess) {
    health.addCheck('listener', async () => {
      if (!vehicleAccess.listening()) throw new Error('not listening for booking changes');
    });
  }

  const app = createHttpApp({
    log,
    admission: admissionSettings('charging', config),
    metrics,
    health,
    trustProxy: config.TRUST_PROXY,
    allowedOrigins: config.ALLOWED_ORIGINS,
    routes: (express) =>
      chargingRoutes(express, {
        db,
        sessions,
        callPile,
        planStation: (stationId) => smart.planStation(stationId),
        cancelAtPile: reservations.cancelAtPile,
        onBookingChange: (stationId) => onChange(stationId, 'booking'),
        tariff,
        defaultCapW: config.STATION_CAP_DEFAULT_W,
        horizonSlots: config.SMART_CHARGING_HORIZON_SLOTS,
        bookingLimits: { perMember: config.CHARGING_BOOKINGS_PER_MEMBER, horizonMs: config.CHARGING_BOOKING_HORIZON_MS },
        allowHttpFeeds: config.AMBIENT_FEED_ALLOW_HTTP,
      }),
  });
  const server = await listen(app, config.PORT, config.HOST);
  server.server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0]!;
    if (health.draining || !path.startsWith(`${OCPP_PATH}/`)) {
      socket.end(`HTTP/1.1 ${health.draining ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    central.handleUpgrade(request, socket as import('node:net').Socket, head);
  });

  const tick = async () => {
    await reservations.tick();
    await central.sweepUnbilled();
  };
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    tick()
      .catch((error: unknown) => log.error({ err: error }, 'charging tick failed'))
      .finally(() => {
        ticking = false;
      });
  }, config.CHARGING_TICK_MS);
  const feeds = createAmbientFeeds({
    db,
    log,
    intervalMs: config.AMBIENT_FEED_INTERVAL_MS,
    timeoutMs: config.AMBIENT_FEED_TIMEOUT_MS,
    onChange: (stationId) => onChange(stationId, 'ambient'),
  });
  let polling = false;
  const pollFeeds = () => {
    if (polling) return;
    polling = true;
    feeds
      .poll()
      .catch((error: unknown) => log.error({ err: error }, 'weather feed round failed'))
      .finally(() => {
        polling = false;
      });
  };
  // A feed is due once per AMBIENT_FEED_INTERVAL_MS; looking every tick reads a new feed promptly.
  const feedTimer = setInterval(pollFeeds, Math.min(config.CHARGING_TICK_MS, config.AMBIENT_FEED_INTERVAL_MS));
  const planner = setInterval(() => {
    if (config.SMART_CHARGING_ENABLED) smart.planAll().catch((error: unknown) => log.error({ err: error }, 'periodic planning failed'));
  }, config.SMART_CHARGING_INTERVAL_MS);

  return {
    name: 'charging',
    url: server.url,
    port: server.port,
    health,
    instanceId,
    planStation: (stationId) => smart.planStation(stationId),
    tick,
    connectedPiles: () => central.connected(),
    async stop() {
      health.startDraining();
      clearInterval(ticker);
      clearInterval(planner);
      clearInterval(feedTimer);
      await vehicleAccess?.close();
      await smart.stop();
      router.stop();
      await central.close();
      await server.close();
      // Best effort: a pile that reconnects anywhere rewrites its state, so a database already
      // gone at shutdown must not fail the stop.
      await repo.releaseInstance(instanceId).catch((error: unknown) => log.warn({ err: error }, "could not mark this instance's piles offline"));
      if (!deps.sessions) sessions.close();
    },
  };
}
