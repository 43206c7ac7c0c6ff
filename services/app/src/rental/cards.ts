import { problems } from '@evshare/kit';
import type { Card, Queryable } from './model';

const CARD_COLUMNS = `uid, member_id AS "memberId", bound_at AS "boundAt"`;

export async function listCards(db: Queryable, memberId: string): Promise<Card[]> {
  const { rows } = await db.query<Card>(`SELECT ${CARD_COLUMNS} FROM membership_cards WHERE member_id = $1 ORDER BY bound_at`, [memberId]);
  return rows;
}

/**
 * Binds a card to the member (claim 7: card and app account rent interchangeably). A card is
 * bound to at most one member; binding your own card again changes nothing.
 */
export async function bindCard(db: Queryable, memberId: string, uid: string): Promise<{ card: Card; created: boolean }> {
  const { rows } = await db.query<Card>(
    `INSERT INTO membership_cards AS c (uid, member_id, bound_at) VALUES ($1, $2, now())
     ON CONFLICT (uid) DO UPDATE SET member_id = EXCLUDED.member_id, bound_at = EXCLUDED.bound_at WHERE c.member_id IS NULL
     RETURNING ${CARD_COLUMNS}`,
    [uid, memberId],
  );
  if (rows[0]) return { card: rows[0], created: true };
  const { rows: existing } = await db.query<Card>(`SELECT ${CARD_COLUMNS} FROM membership_cards WHERE uid = $1`, [uid]);
  if (existing[0]?.memberId === memberId) return { card: existing[0], created: false };
  throw problems.conflict('card-bound', 'This card is bound to another account; it must be unbound there first');
}

/** False when the card is not bound to this member. */
export async function unbindCard(db: Queryable, memberId: string, uid: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE membership_cards SET member_id = NULL, bound_at = NULL WHERE uid = $1 AND member_id = $2', [uid, memberId]);
  return Boolean(rowCount);
}
