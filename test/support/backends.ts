import pg from 'pg';
import { TEST_DATABASE_URL, TEST_NATS_URL, TEST_REDIS_URL, uniqueName } from '@evshare/kit';

/** A fresh PostgreSQL database on the test server, dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('evs_');
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * The environment for a platform under test: real Redis, NATS and PostgreSQL, namespaced so
 * parallel test files never see each other, with short intervals so failures show quickly.
 */
export function testEnvironment(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  const prefix = uniqueName('t');
  return {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    REDIS_URL: TEST_REDIS_URL,
    NATS_URL: TEST_NATS_URL,
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '4',
    REDIS_KEY_PREFIX: `${prefix}:`,
    NATS_SUBJECT_PREFIX: `${prefix}.`,
    HEALTH_INTERVAL_MS: '200',
    // A killed instance is seen at once (connection refused); the timeout is only for a hung one,
    // and a test's own load generators share the two cores with the instances they probe.
    HEALTH_TIMEOUT_MS: '1000',
    HEALTH_FALL: '2',
    HEALTH_RISE: '1',
    LOAD_REPORT_INTERVAL_MS: '500',
    MEMBER_TIMEOUT_MS: '3000',
    ...overrides,
  };
}
