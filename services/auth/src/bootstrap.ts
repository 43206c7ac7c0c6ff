import { hashPassword, type Logger, type Pool } from '@evshare/kit';

/**
 * The first operator account: with ADMIN_BOOTSTRAP_PASSWORD set and no admin in the database,
 * creates `admin` with that password. Never overwrites an existing account.
 */
export async function ensureBootstrapAdmin(db: Pool, password: string | undefined, log: Logger): Promise<void> {
  if (!password) return;
  const { rowCount } = await db.query("SELECT 1 FROM members WHERE role = 'admin' LIMIT 1");
  if (rowCount) return;
  await db.query(
    `INSERT INTO members (username, display_name, password_hash, role) VALUES ('admin', 'Administrator', $1, 'admin')
     ON CONFLICT (username) DO NOTHING`,
    [await hashPassword(password)],
  );
  log.info({ username: 'admin' }, 'bootstrap admin created');
}
