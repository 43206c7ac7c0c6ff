import { runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { billingConfigSchema, startBilling } from './index';

void runMain('billing', billingConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  return startBilling({ config, log, db, bus: backends.bus, cache: backends.cache });
});
