import { randomUUID } from 'node:crypto';
import { SUBJECTS, bumpSyncVersion, type Bus, type KeyValueStore, type Pool, type PushNotification } from '@evshare/kit';

export interface NotificationInput {
  kind: string;
  title: string;
  body?: Record<string, unknown>;
}

/**
 * Tells a member something: stored (the poll and history read it), the member's sync version
 * advanced (so the next poll sees it), and pushed live to the member's open connections.
 */
export async function notifyMember(deps: { db: Pool; cache: KeyValueStore; bus: Bus }, memberId: string, input: NotificationInput): Promise<PushNotification> {
  const id = randomUUID();
  const { rows } = await deps.db.query<{ at: Date }>(
    'INSERT INTO notifications (id, member_id, kind, title, body) VALUES ($1, $2, $3, $4, $5) RETURNING created_at AS at',
    [id, memberId, input.kind, input.title, JSON.stringify(input.body ?? {})],
  );
  const notification: PushNotification = { id, kind: input.kind, title: input.title, body: input.body ?? {}, at: rows[0]!.at.toISOString() };
  await bumpSyncVersion(deps.cache, memberId);
  deps.bus.publish(SUBJECTS.pushMember(memberId), notification);
  return notification;
}

export async function unreadNotifications(db: Pool, memberId: string, limit = 50): Promise<PushNotification[]> {
  const { rows } = await db.query<{ id: string; kind: string; title: string; body: unknown; at: Date }>(
    `SELECT id, kind, title, body, created_at AS at FROM notifications
      WHERE member_id = $1 AND read_at IS NULL ORDER BY created_at DESC LIMIT $2`,
    [memberId, limit],
  );
  return rows.map((r) => ({ id: r.id, kind: r.kind, title: r.title, body: r.body, at: r.at.toISOString() }));
}

/** Marks one of the member's notifications read; false when it is not theirs or does not exist. */
export async function markRead(db: Pool, memberId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND member_id = $2', [id, memberId]);
  return Boolean(rowCount);
}
