import { createSessionStore, runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { authConfigSchema, ensureBootstrapAdmin, startAuth } from './index';

void runMain('auth', authConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  await ensureBootstrapAdmin(db, config.ADMIN_BOOTSTRAP_PASSWORD, log);
  const sessions = createSessionStore({ store: backends.sessions, bus: backends.bus, log, ttlMs: config.SESSION_TTL_MS });
  return startAuth({ config, log, db, bus: backends.bus, sessions, throttleStore: backends.sessions });
});
