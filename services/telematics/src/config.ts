import { z } from 'zod';
import { env, serviceEnv } from '@evshare/kit';
import { DEFAULT_TOPIC_ROOT } from './protocol';

export const telematicsConfigSchema = z.object({
  ...serviceEnv('telematics', 8086),
  /** An external broker (Mosquitto, NATS's MQTT listener); unset: an embedded aedes broker. */
  MQTT_URL: env.optionalUrl(),
  /** The embedded broker's port (1883 is left to a local Mosquitto); 0 picks a free one. */
  MQTT_PORT: env.port(1884),
  /** The embedded broker's address; containers set 0.0.0.0 so cars can reach it. */
  MQTT_HOST: z.string().min(1).default('127.0.0.1'),
  /** The service's own MQTT credential. Embedded broker: a random password per start when unset. */
  MQTT_USERNAME: z.string().min(1).default('telematics'),
  MQTT_PASSWORD: z.string().min(1).optional(),
  /** The embedded broker speaks TLS on MQTT_PORT with this certificate chain and key (PEM files; e.g. a mounted Secret). */
  MQTT_TLS_CERT: z.string().min(1).optional(),
  MQTT_TLS_KEY: z.string().min(1).optional(),
  /** CA certificates (PEM file) the service trusts for an external `mqtts://` MQTT_URL, beside the system's. */
  MQTT_TLS_CA: z.string().min(1).optional(),
  /** Embedded broker: largest packet (remaining length) a client may announce before it is authenticated. */
  MQTT_MAX_CONNECT_BYTES: env.positiveInt(4_096),
  /** Embedded broker: largest packet an authenticated car may send (the biggest legitimate one, a trip, is under 1 KiB). */
  MQTT_MAX_PACKET_BYTES: env.positiveInt(65_536),
  /** Embedded broker: a connection whose CONNECT (and TLS handshake) has not arrived by then is closed. */
  MQTT_CONNECT_TIMEOUT_MS: env.positiveInt(10_000),
  /** Topic prefix; a separate one per deployment (or test) on a shared broker. */
  TELEMATICS_TOPIC_ROOT: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/)
    .default(DEFAULT_TOPIC_ROOT),
  /** Telemetry is written to the vehicles table in one statement per interval. */
  TELEMATICS_FLUSH_INTERVAL_MS: env.positiveInt(250),
  /** A whitelist change is sent after this quiet time, so one transaction's changes go together. */
  TELEMATICS_WHITELIST_DEBOUNCE_MS: env.positiveInt(200),
  /** Every online car gets its full whitelist this often (and at every (re)connect). */
  TELEMATICS_FULL_SYNC_INTERVAL_MS: env.positiveInt(300_000),
  /** Every online car gets the full fleet list (every eligible member, in pages) this often, besides at (re)connect and on a version mismatch. */
  TELEMATICS_FLEET_FULL_SYNC_INTERVAL_MS: env.positiveInt(3_600_000),
  /** Every member's eligibility is recomputed this often (what no notification announces, e.g. a plan's validity running out). */
  TELEMATICS_FLEET_RECHECK_MS: env.positiveInt(60_000),
  /** Largest entries part of a fleet-list delta or page: one MQTT packet, under the broker's 64 KiB packet limit. */
  TELEMATICS_FLEET_PAGE_BYTES: env.positiveInt(48 * 1024),
  /** How long a whitelist command stays valid for the car. */
  TELEMATICS_COMMAND_TTL_MS: env.positiveInt(60_000),
  /** A car reporting less charge than this raises a low-charge alert. */
  TELEMATICS_LOW_SOC_PCT: env.number(20),
  /** The member driving a car whose charge falls below this is told once per rental (docs/push.md). */
  TELEMATICS_LOW_BATTERY_NOTICE_PCT: env.number(20),
  /** How many nearby stations with a free space and a free charger that notice lists. */
  TELEMATICS_LOW_BATTERY_STATIONS: env.positiveInt(3),
  /** Wait before listening for database notifications again after the connection broke. */
  TELEMATICS_LISTEN_RETRY_MS: env.positiveInt(2_000),
});
export type TelematicsConfig = z.infer<typeof telematicsConfigSchema>;
