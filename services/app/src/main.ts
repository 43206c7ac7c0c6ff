import { createSessionStore, runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { appConfigSchema, startApp } from './index';

void runMain('app', appConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  const sessions = createSessionStore({ store: backends.sessions, bus: backends.bus, log, ttlMs: config.SESSION_TTL_MS });
  return startApp({ config, log, db, bus: backends.bus, sessions, cache: backends.cache });
});
