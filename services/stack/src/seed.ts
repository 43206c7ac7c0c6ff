import { hashPassword, type Logger, type Pool } from '@evshare/kit';

/** Development accounts, printed at start and listed in the README. Never seeded in a cluster. */
export const DEV_ACCOUNTS = {
  admin: { account: 'admin', password: 'evshare-admin', role: 'admin' as const, displayName: 'Administrator' },
  member: { account: '13800000000', password: 'evshare-demo', role: 'member' as const, displayName: 'Demo Member' },
};

export async function seedDevelopmentAccounts(db: Pool, log: Logger): Promise<void> {
  const { admin, member } = DEV_ACCOUNTS;
  await db.query(
    `INSERT INTO members (username, display_name, password_hash, role) VALUES ($1, $2, $3, 'admin') ON CONFLICT (username) DO NOTHING`,
    [admin.account, admin.displayName, await hashPassword(admin.password)],
  );
  await db.query(
    `INSERT INTO members (phone, username, display_name, password_hash, role) VALUES ($1, 'demo', $2, $3, 'member') ON CONFLICT DO NOTHING`,
    [member.account, member.displayName, await hashPassword(member.password)],
  );
  log.debug('development accounts present');
}
