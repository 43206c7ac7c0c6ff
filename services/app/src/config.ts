import { z } from 'zod';
import { admissionEnv, env, membershipKeyEnv } from '@evshare/kit';
import type { ApiLimits } from '@evshare/api';
import { reportConfigSchema, requireCompleteBlobStore } from './reports/config';
import { rentalConfigSchema } from './rental/config';
import { refuseDevTopUpsInProduction, walletConfigSchema, walletDefaults } from './wallet/config';

const baseConfigSchema = z.object({
  /** Signs this instance's announcements, load reports and withdrawal (shared with gateway and operator). */
  ...membershipKeyEnv,
  PORT: env.port(8082),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  /** Stable name of this instance (pod name in Kubernetes); defaults to host and port. */
  INSTANCE_ID: z.string().optional(),
  POD_NAME: z.string().optional(),
  /** The URL the balancer should forward to (announced on NATS); defaults to the listening URL. */
  PUBLIC_URL: env.optionalUrl(),
  TRUST_PROXY: env.trustProxy('loopback'),
  /** Pages besides the request's own host whose requests may use the session cookie. */
  ALLOWED_ORIGINS: env.list(),
  /** Requests this instance serves at once; the balancer queues beyond it, and so does admission here, by time. */
  MAX_CONCURRENCY: env.positiveInt(64),
  REQUEST_DEADLINE_MS: admissionEnv.REQUEST_DEADLINE_MS,
  LOAD_REPORT_INTERVAL_MS: env.positiveInt(1000),
  /** HAProxy's agent check reads this instance's weight, maxconn and drain state here; unset: no agent. */
  LOAD_AGENT_PORT: env.optionalPort(),
  /** After withdrawing, keep serving this long so balancers and endpoints catch up. */
  DRAIN_DELAY_MS: env.durationMs(0),
  MEMBER_CACHE_TTL_MS: env.durationMs(5 * 60_000),
  /** Sliding session expiry; must equal the auth service's, since every access refreshes it. */
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  /** How often the web platform should poll /api/v1/sync. */
  SYNC_INTERVAL_MS: env.positiveInt(5000),
  /**
   * A shared dependency (PostgreSQL, Redis, NATS) failing its readiness check takes this instance
   * out of the balancer only once it has failed this long without a break: a blip must not take
   * every APP instance out at once. 0: at the first failure.
   */
  DEPENDENCY_OUTAGE_AFTER_MS: env.durationMs(10_000),
});
/** The APP service's variables, with those of its business domains. */
export const appConfigSchema = baseConfigSchema
  .extend(rentalConfigSchema.shape)
  .extend(walletConfigSchema.shape)
  .extend(reportConfigSchema.shape)
  .superRefine(refuseDevTopUpsInProduction)
  .superRefine(requireCompleteBlobStore)
  .overwrite(walletDefaults);
export type AppConfig = z.infer<typeof appConfigSchema>;

/** What the configuration changes in the API's operations (the enabled providers, the money limits). */
export const apiLimits = (config: AppConfig): ApiLimits => ({
  paymentProviders: config.PAYMENT_PROVIDERS,
  topUpMaxFen: config.TOP_UP_MAX_FEN,
  adminDeductionMaxFen: config.ADMIN_DEDUCTION_MAX_FEN,
  photoMaxBytes: config.REPORT_PHOTO_MAX_BYTES,
});
