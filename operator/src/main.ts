import { KubeConfig } from '@kubernetes/client-node';
import { connectNatsBus, createLogger, createMetrics, inboxPrefix, listen, loadConfig, runProcess } from '@evshare/kit';
import { leaseNamespace, operatorConfigSchema, requireSigningKeyInProduction } from './config';
import { operatorHttpHandler } from './http';
import { startOperator } from './operator';

const config = loadConfig('evshare-operator', operatorConfigSchema);
try {
  requireSigningKeyInProduction(config);
} catch (error) {
  process.stderr.write(`evshare-operator: configuration error: ${(error as Error).message}\n`);
  process.exit(2);
}
const log = createLogger('operator', config.LOG_LEVEL);
void runProcess('operator', log, async () => {
  const { registry } = createMetrics('operator', config.POD_NAME);
  let started = false;
  // Up before the caches sync, so the liveness probe does not kill a slow start.
  const server = await listen(
    operatorHttpHandler(registry, () => started),
    config.METRICS_PORT,
    config.METRICS_HOST,
  );
  const kubeConfig = new KubeConfig();
  // KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
  kubeConfig.loadFromDefault();
  // Alive and not ready (its /readyz) while it waits for its first NATS connection.
  const bus = await connectNatsBus(
    {
      url: config.NATS_URL,
      prefix: config.NATS_PREFIX,
      name: `evshare-operator/${config.POD_NAME}`,
      ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
      inboxPrefix: inboxPrefix('operator', config.NATS_PREFIX),
    },
    log,
  );
  const operator = await startOperator({
    kubeConfig,
    bus,
    log,
    registry,
    identity: config.POD_NAME,
    ...(config.MEMBERSHIP_SIGNING_KEY === undefined ? {} : { membershipKey: config.MEMBERSHIP_SIGNING_KEY }),
    namespace: config.WATCH_NAMESPACE || undefined,
    leaseNamespace: leaseNamespace(config),
    leaseName: config.LEASE_NAME,
    groupSelector: config.GROUP_SELECTOR || undefined,
    evaluationIntervalMs: config.EVALUATION_INTERVAL_MS,
    loadStaleAfterMs: config.LOAD_STALE_AFTER_MS,
    leaseDurationMs: config.LEASE_DURATION_MS,
    renewDeadlineMs: config.RENEW_DEADLINE_MS,
    retryPeriodMs: config.RETRY_PERIOD_MS,
  });
  started = true;
  return {
    details: { port: server.port, namespace: config.WATCH_NAMESPACE || '(all)', identity: config.POD_NAME },
    async stop() {
      await operator.stop();
      await bus.close();
      await server.close();
    },
  };
});
