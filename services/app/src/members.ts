import { bumpSyncVersion, problems, type KeyValueStore, type Pool } from '@evshare/kit';

export interface MemberProfile {
  id: string;
  phone: string | null;
  username: string | null;
  displayName: string;
  role: 'member' | 'admin';
  status: string;
  createdAt: string;
}

const PROFILE_COLUMNS = `id, phone, username, display_name AS "displayName", role, status, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt"`;
const profileKey = (id: string) => `member:${id}`;

/**
 * Member data for the APP services, read through the data cache (cache-aside). Every write
 * deletes the cached copy and bumps the member's sync version before it returns, so the member
 * never reads stale data after its own write, on any instance.
 */
export function createMemberRepository(db: Pool, cache: KeyValueStore, cacheTtlMs: number) {
  return {
    async profile(id: string): Promise<MemberProfile | undefined> {
      const cached = await cache.get(profileKey(id));
      if (cached) return JSON.parse(cached) as MemberProfile;
      const { rows } = await db.query<MemberProfile>(`SELECT ${PROFILE_COLUMNS} FROM members WHERE id = $1`, [id]);
      const profile = rows[0];
      if (profile) await cache.set(profileKey(id), JSON.stringify(profile), { ttlMs: cacheTtlMs });
      return profile;
    },

    async updateProfile(id: string, changes: { displayName?: string }): Promise<MemberProfile> {
      const { rows } = await db.query<MemberProfile>(
        `UPDATE members SET display_name = coalesce($2, display_name), updated_at = now() WHERE id = $1 RETURNING ${PROFILE_COLUMNS}`,
        [id, changes.displayName ?? null],
      );
      if (!rows[0]) throw problems.notFound('No such member');
      await this.changed(id);
      return rows[0];
    },

    async create(input: { phone?: string; username?: string; displayName: string; passwordHash: string; role: 'member' | 'admin' }): Promise<MemberProfile> {
      try {
        const { rows } = await db.query<MemberProfile>(
          `INSERT INTO members (phone, username, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING ${PROFILE_COLUMNS}`,
          [input.phone ?? null, input.username?.toLowerCase() ?? null, input.displayName, input.passwordHash, input.role],
        );
        return rows[0]!;
      } catch (error) {
        const { code, constraint } = error as { code?: string; constraint?: string };
        if (code === '23505') {
          const field = constraint?.includes('phone') ? 'phone' : 'username';
          throw problems.conflict('account-exists', `A member with this ${field} already exists`);
        }
        throw error;
      }
    },

    /** Invalidates the cached profile and advances the sync version (the poll's ETag). */
    async changed(id: string): Promise<void> {
      await cache.del(profileKey(id));
      await bumpSyncVersion(cache, id);
    },
  };
}
export type MemberRepository = ReturnType<typeof createMemberRepository>;
