import { z } from 'zod';
import { env, serviceEnv } from '@evshare/kit';
import { parseTariffBands } from './tariff';

export const chargingConfigSchema = z.object({
  ...serviceEnv('charging', 8087),
  TRUST_PROXY: env.trustProxy('loopback'),
  /** Sliding session expiry; must equal the auth service's. */
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  /** Heartbeat interval the piles are told in BootNotification. */
  OCPP_HEARTBEAT_INTERVAL_S: env.positiveInt(300),
  /** How long a call to a pile (local or through another instance) may take. */
  OCPP_CALL_TIMEOUT_MS: env.positiveInt(15_000),
  /** WebSocket keep-alive pings; a pile that stops answering is dropped and marked offline. */
  OCPP_PING_INTERVAL_MS: env.positiveInt(30_000),
  /**
   * Largest WebSocket frame a pile may send (bytes); a larger one closes the connection (1009).
   * The largest legitimate 1.6J message, a StopTransaction with its transactionData or a
   * MeterValues batch, is a few KiB.
   */
  OCPP_MAX_FRAME_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .max(1 << 24)
    .default(64 * 1024),
  /** A pile's timestamp further than this from the server's clock is replaced by the server's. */
  OCPP_CLOCK_TOLERANCE_MS: env.positiveInt(5 * 60_000),
  /** Billed energy may exceed the pile's rated power × the session's elapsed time by this factor. */
  OCPP_ENERGY_MARGIN: z.coerce.number().min(1).max(2).default(1.1),
  /** Connector ids a pile may use (1..this). */
  OCPP_MAX_CONNECTORS: z.coerce.number().int().min(1).max(1000).default(64),
  /** ReserveNow is sent this long before a booked slot starts. */
  RESERVATION_LEAD_MS: env.durationMs(10 * 60_000),
  /** Bookings a member may hold at once (booked, reserved or charging); operators are not limited. */
  CHARGING_BOOKINGS_PER_MEMBER: env.positiveInt(3),
  /** How far ahead a member may book a slot (its start); operators are not limited. */
  CHARGING_BOOKING_HORIZON_MS: env.positiveInt(7 * 24 * 3600_000),
  /** How often due reservations are sent, expired ones cancelled, and unbilled sessions republished. */
  CHARGING_TICK_MS: env.positiveInt(5_000),
  /** Periodic re-plan of every station with parked cars (events re-plan sooner). */
  SMART_CHARGING_INTERVAL_MS: env.positiveInt(15 * 60_000),
  /** Events within this window are planned together. */
  SMART_CHARGING_DEBOUNCE_MS: env.durationMs(2_000),
  SMART_CHARGING_ENABLED: env.bool(true),
  /** Wait before listening for booking changes (vehicle_access) again after the connection broke. */
  SMART_CHARGING_LISTEN_RETRY_MS: env.positiveInt(2_000),
  /** Station power cap when the station row has none (W). */
  STATION_CAP_DEFAULT_W: env.positiveInt(60_000),
  /** Ambient temperature when the station row has none (°C). */
  AMBIENT_DEFAULT_C: env.number(20),
  /** How often the stations' weather feeds are read (docs/charging.md, "Ambient temperature"). */
  AMBIENT_FEED_INTERVAL_MS: env.positiveInt(10 * 60_000),
  /** A feed answering slower than this is skipped until the next round; the last reading stays. */
  AMBIENT_FEED_TIMEOUT_MS: env.positiveInt(5_000),
  /** Plain-HTTP feeds (a cluster-local weather proxy, tests); by default only https is accepted. */
  AMBIENT_FEED_ALLOW_HTTP: env.bool(false),
  /** The plan's horizon in 15-minute slots; a car with no booking is filled cheaply within it. */
  SMART_CHARGING_HORIZON_SLOTS: env.positiveInt(96),
  /** Battery capacity for a car the platform does not know (kWh). */
  DEFAULT_BATTERY_KWH: env.number(60),
  /** The piles' supply: their lowest charging power is 6 A × voltage × phases (IEC 61851). */
  PILE_VOLTAGE_V: env.positiveInt(230),
  /** Phases of the piles' supply; a pile rated below 6 A on each of them is taken as single-phase. */
  PILE_PHASES: z.coerce.number().int().min(1).max(3).default(3),
  /** Time-of-use tariff in fen per kWh; bands are Asia/Shanghai hours, `band:from-to` (24 = midnight). */
  TARIFF_PEAK_FEN_PER_KWH: env.positiveInt(120),
  TARIFF_FLAT_FEN_PER_KWH: env.positiveInt(75),
  TARIFF_VALLEY_FEN_PER_KWH: env.positiveInt(35),
  TARIFF_BANDS: z
    .string()
    .default('valley:0-8,flat:8-10,peak:10-15,flat:15-18,peak:18-21,flat:21-23,valley:23-24')
    .transform((value, ctx) => {
      try {
        return parseTariffBands(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
});
export type ChargingConfig = z.infer<typeof chargingConfigSchema>;
