import { runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { startTelematics, telematicsConfigSchema } from './index';

void runMain('telematics', telematicsConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  return startTelematics({ config, log, db, bus: backends.bus, cache: backends.cache });
});
