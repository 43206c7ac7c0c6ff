import { runMain } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { smsConfigSchema, startSms } from './index';

void runMain('sms', smsConfigSchema, async ({ config, log, backends }) => {
  const db = backends.db!;
  await migrateDatabase(db, log);
  return startSms({ config, log, db, bus: backends.bus, store: backends.sessions });
});
