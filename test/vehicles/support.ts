import { createLogger, createNatsBus, createPool, parseConfig, TEST_NATS_URL, uniqueName, type Bus, type Pool } from '@evshare/kit';
import { startTelematics, telematicsConfigSchema, type TelematicsService } from '@evshare/telematics';
import { request } from '../support/http';

/** The telematics service beside a test platform: same database and bus namespace, its own topic root. */
export async function startTestTelematics(env: Record<string, string>, overrides: Record<string, string> = {}) {
  const topicRoot = `test/${uniqueName('tm')}`;
  const config = parseConfig(telematicsConfigSchema, {
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    PORT: '0',
    MQTT_PORT: '0',
    TELEMATICS_TOPIC_ROOT: topicRoot,
    TELEMATICS_FLUSH_INTERVAL_MS: '100',
    TELEMATICS_WHITELIST_DEBOUNCE_MS: '100',
    ...overrides,
  });
  const log = createLogger('telematics', config.LOG_LEVEL);
  const db: Pool = createPool(env.DATABASE_URL!, { max: 4 });
  const bus: Bus = await createNatsBus({ url: TEST_NATS_URL, prefix: env.NATS_SUBJECT_PREFIX });
  const service: TelematicsService = await startTelematics({ config, log, db, bus });
  return {
    service,
    topicRoot: config.TELEMATICS_TOPIC_ROOT,
    db,
    bus,
    /** The sum of a metric's samples carrying these labels, from /metrics (0 when absent). */
    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const reply = await request(`${service.url}/metrics`, { method: 'GET' });
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      return reply.body
        .split('\n')
        .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && wanted.every((w) => line.includes(w)))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    },
    async stop() {
      await service.stop();
      await bus.close();
      await db.end();
    },
  };
}
