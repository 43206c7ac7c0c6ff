import { createSessionStore, runMain } from '@evshare/kit';
import { heartbeatConfigSchema, startHeartbeat } from './service';

void runMain(
  'heartbeat',
  heartbeatConfigSchema,
  ({ config, log, backends }) =>
    startHeartbeat({
      config,
      log,
      bus: backends.bus,
      sessions: createSessionStore({ store: backends.sessions, bus: backends.bus, log, ttlMs: config.SESSION_TTL_MS }),
    }),
  { database: false },
);
