import path from 'node:path';
import { migrate, readMigrations, type Logger, type Pool } from '@evshare/kit';

/** The migrations ship beside the compiled code (`../migrations` from both src/ and dist/). */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

/** Brings the database up to the current schema; safe to call from every service at start. */
export function migrateDatabase(db: Pool, log?: Logger): Promise<string[]> {
  return migrate(db, readMigrations(MIGRATIONS_DIR), log);
}
