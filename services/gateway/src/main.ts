import { createLogger, createMemoryBus, createNatsBus, inboxPrefix, loadConfig, runProcess } from '@evshare/kit';
import { gatewayConfigSchema } from './config';
import { startGateway } from './gateway';

// The gateway alone in its process: configuration, logger, NATS, the gateway, SIGTERM.
const config = loadConfig('gateway', gatewayConfigSchema);
const log = createLogger('gateway', config.LOG_LEVEL);
void runProcess(
  'gateway',
  log,
  async () => {
    const bus = config.NATS_URL
      ? await createNatsBus({
          url: config.NATS_URL,
          name: 'gateway',
          prefix: config.NATS_SUBJECT_PREFIX || undefined,
          ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
          inboxPrefix: inboxPrefix('gateway', config.NATS_SUBJECT_PREFIX),
        })
      : createMemoryBus();
    if (!config.NATS_URL) log.warn('NATS_URL is not set: no APP instance can announce itself, only APP_UPSTREAMS are used');
    const gateway = await startGateway({ config, log, bus });
    return {
      async stop() {
        await gateway.stop();
        await bus.close();
      },
    };
  },
  config.SHUTDOWN_TIMEOUT_MS + 5_000,
);
