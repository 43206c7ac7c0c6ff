import { hashPassword, type Pool } from '@evshare/kit';
import type { MemberAccount } from './fleet';

/**
 * The accounts of simulated members: phone numbers `<prefix><index>` (11 digits with the default
 * prefix, indexes from 1) sharing one password.
 */
export function simulatedAccounts(count: number, password: string, prefix = '1990000'): MemberAccount[] {
  const width = Math.max(String(count).length, 11 - prefix.length);
  return Array.from({ length: count }, (_, i) => ({ account: `${prefix}${String(i + 1).padStart(width, '0')}`, password }));
}

/**
 * Creates (or resets to active with the given password) simulated members directly in the
 * database, for development clusters: one argon2 hash shared by all, since hashing is
 * deliberately slow and every member has the same password.
 */
export async function provisionMembers(db: Pool, accounts: MemberAccount[]): Promise<void> {
  const hashes = new Map<string, string>();
  for (const { password } of accounts) if (!hashes.has(password)) hashes.set(password, await hashPassword(password));
  await db.query(
    `INSERT INTO members (phone, display_name, password_hash, role, status)
     SELECT phone, 'Simulated member ' || right(phone, 4), hash, 'member', 'active' FROM unnest($1::text[], $2::text[]) AS t(phone, hash)
     ON CONFLICT (phone) DO UPDATE SET password_hash = EXCLUDED.password_hash, status = 'active', updated_at = now()`,
    [accounts.map((a) => a.account), accounts.map((a) => hashes.get(a.password)!)],
  );
}

/**
 * Creates simulated members through the operators' API (`POST /api/v1/admin/members`), where the
 * database is out of reach (a cluster behind its ingress). A member that exists already (409) is kept.
 */
export async function registerMembers(options: { url: string; admin: MemberAccount; accounts: MemberAccount[]; concurrency?: number }): Promise<void> {
  const url = options.url.replace(/\/$/, '');
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: options.admin.account, password: options.admin.password }),
  });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
  const { sessionKey } = (await login.json()) as { sessionKey: string };
  const queue = [...options.accounts];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const reply = await fetch(`${url}/api/v1/admin/members`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sessionKey}` },
        body: JSON.stringify({ phone: next.account, displayName: `Simulated member ${next.account.slice(-4)}`, password: next.password }),
      });
      if (reply.status !== 201 && reply.status !== 409) throw new Error(`creating member ${next.account} failed: ${reply.status} ${await reply.text()}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
}
