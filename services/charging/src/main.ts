import { createSessionStore, runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { chargingConfigSchema, startCharging } from './index';

void runMain('charging', chargingConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  const sessions = createSessionStore({ store: backends.sessions, bus: backends.bus, log, ttlMs: config.SESSION_TTL_MS });
  return startCharging({ config, log, db, bus: backends.bus, sessions });
});
