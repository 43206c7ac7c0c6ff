import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** pg returns BIGINT (int8) as a string by default; our money columns are BIGINT fen that fit in a JS number. */
pg.types.setTypeParser(20, (value) => Number(value));

export function createPool(url: string, options: { max?: number; applicationName?: string; log?: Logger } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection the server ends (restart, failover) must not crash the process; the pool
  // replaces it at the next checkout. After end() the pool's sockets may still be closing when the
  // server goes away (the embedded server stops right after): nothing is lost then.
  pool.on('error', (error) => {
    if (!pool.ending) options.log?.warn({ err: error }, 'idle database connection lost');
  });
  return pool;
}

export interface Migration {
  /** Sortable id, e.g. `0001_members`. */
  id: string;
  sql: string;
}

/** Reads `NNNN_name.sql` files from a directory, in order. */
export function readMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ id: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

/**
 * Applies the migrations not yet applied, each in its own transaction. An advisory lock makes
 * concurrent starts (several instances or services at once) safe: one applies, the others wait
 * and then find nothing to do.
 */
export async function migrate(pool: pg.Pool, migrations: Migration[], log?: Logger): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(7323001)');
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.id} failed: ${(error as Error).message}`);
      }
      applied.push(migration.id);
      log?.info({ migration: migration.id }, 'migration applied');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(7323001)').catch(() => undefined);
    client.release();
  }
  return applied;
}

/** Runs fn in a transaction, rolling back on error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
