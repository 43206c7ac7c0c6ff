import type { Pool } from '@evshare/kit';

export interface Credentials {
  id: string;
  role: 'member' | 'admin';
  status: 'pending' | 'active' | 'suspended' | 'deregistered';
  passwordHash: string;
}

/** The account is a phone number or a username; both are unique. */
export async function findCredentials(db: Pool, account: string): Promise<Credentials | undefined> {
  const { rows } = await db.query<Credentials>(
    `SELECT id, role, status, password_hash AS "passwordHash" FROM members
      WHERE phone = $1 OR username = lower($1) LIMIT 1`,
    [account.trim()],
  );
  return rows[0];
}

export async function findCredentialsById(db: Pool, id: string): Promise<Credentials | undefined> {
  const { rows } = await db.query<Credentials>('SELECT id, role, status, password_hash AS "passwordHash" FROM members WHERE id = $1', [id]);
  return rows[0];
}

export async function setPasswordHash(db: Pool, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE members SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1', [id, passwordHash]);
}
