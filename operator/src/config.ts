import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { ConfigError, env, isDevelopment, membershipKeyEnv, natsCredentialsEnv } from '@evshare/kit';

/** The operator's environment (the chart sets these; KUBECONFIG or the in-cluster account gives API access). */
export const operatorConfigSchema = z.object({
  NATS_URL: env.url(),
  /** The image sets production; then unsigned load reports are refused (see below). */
  NODE_ENV: env.nodeEnv(),
  /** The operator's NATS user (permissions: read load reports, publish scaling decisions). */
  ...natsCredentialsEnv,
  /** With it, only load reports signed with this key (shared with the APP pods) drive scaling. */
  ...membershipKeyEnv,
  /** Subject prefix shared with the APP pods (empty in a cluster; set by tests and tenants). */
  NATS_PREFIX: z.string().default(''),
  /** Watch one namespace (the chart's) or, when empty, all namespaces (needs a ClusterRole). */
  WATCH_NAMESPACE: z.string().optional(),
  /** Identity in the Lease; the downward API gives the pod name. */
  POD_NAME: z.string().default(os.hostname()),
  /** Where the Lease lives; defaults to the service account's namespace. */
  POD_NAMESPACE: z.string().optional(),
  LEASE_NAME: z.string().default('evshare-operator'),
  /**
   * Label selector of the AppServiceGroups this operator acts on (empty: all it can see). The
   * chart sets its release's instance label, so two releases in one namespace each run their own
   * leader (own Lease) on their own groups, with their own NATS.
   */
  GROUP_SELECTOR: z.string().default(''),
  METRICS_PORT: env.port(8080),
  METRICS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: env.logLevel(),
  EVALUATION_INTERVAL_MS: env.positiveInt(1_000),
  LOAD_STALE_AFTER_MS: env.positiveInt(5_000),
  LEASE_DURATION_MS: env.positiveInt(15_000),
  RENEW_DEADLINE_MS: env.positiveInt(10_000),
  RETRY_PERIOD_MS: env.positiveInt(2_000),
});

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

/**
 * Load reports decide scaling and routing, so outside development only signed ones may count:
 * without the key every report on the bus would be believed, so the operator refuses to start.
 */
export function requireSigningKeyInProduction(config: OperatorConfig): void {
  if (config.MEMBERSHIP_SIGNING_KEY === undefined && !isDevelopment(config.NODE_ENV)) {
    throw new ConfigError(
      `MEMBERSHIP_SIGNING_KEY: required outside development (NODE_ENV=${config.NODE_ENV ?? 'unset'}): load reports must be signed by the APP pods`,
    );
  }
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function leaseNamespace(config: OperatorConfig, readAccountNamespace = () => readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8')): string {
  if (config.POD_NAMESPACE) return config.POD_NAMESPACE;
  try {
    return readAccountNamespace().trim();
  } catch {
    return config.WATCH_NAMESPACE || 'default';
  }
}
