import cluster from 'node:cluster';
import { connectNatsBus, createLogger, createMemoryBus, inboxPrefix, loadConfig, runProcess } from '@evshare/kit';
import { gatewayConfigSchema } from './config';
import { startGateway } from './gateway';
import { reportToPrimary, startPrimary, workerCount } from './workers';

// The gateway in its process: configuration, logger, NATS, the gateway, SIGTERM. With more than
// one worker (GATEWAY_WORKERS) this process is the primary and each worker runs the gateway.
const config = loadConfig('gateway', gatewayConfigSchema);
const workers = workerCount(config.GATEWAY_WORKERS);
const index = cluster.isWorker ? Number(process.env.GATEWAY_WORKER_INDEX) : 0;
const log = createLogger('gateway', config.LOG_LEVEL).child(index > 0 ? { worker: index } : {});

if (cluster.isPrimary && workers > 1) {
  void runProcess(
    'gateway',
    log,
    async () => {
      const primary = await startPrimary(config, log, workers, () => {
        log.flush();
        process.exit(1);
      });
      return {
        async stop() {
          if (!(await primary.stop())) throw new Error('a gateway worker did not stop cleanly');
        },
      };
    },
    config.SHUTDOWN_TIMEOUT_MS + 10_000,
  );
} else {
  void runProcess(
    'gateway',
    log,
    async () => {
      // A NATS not up yet (a fresh install, a broker restart) is waited for, not a failed start.
      const bus = config.NATS_URL
        ? await connectNatsBus(
            {
              url: config.NATS_URL,
              name: index > 0 ? `gateway-${index}` : 'gateway',
              prefix: config.NATS_SUBJECT_PREFIX || undefined,
              ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
              inboxPrefix: inboxPrefix('gateway', config.NATS_SUBJECT_PREFIX),
            },
            log,
          )
        : createMemoryBus();
      if (!config.NATS_URL) log.warn('NATS_URL is not set: no APP instance can announce itself, only APP_UPSTREAMS are used');
      const gateway = await startGateway({ config, log, bus, ...(index > 0 ? { worker: { index } } : {}) });
      const stopReporting = index > 0 ? reportToPrimary(gateway, index) : () => {};
      return {
        async stop() {
          stopReporting();
          await gateway.stop();
          await bus.close();
        },
      };
    },
    config.SHUTDOWN_TIMEOUT_MS + 5_000,
  );
}
