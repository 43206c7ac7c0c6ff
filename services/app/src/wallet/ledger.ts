import type { Pool, PoolClient } from '@evshare/kit';

export interface WalletView {
  balanceFen: number;
  depositFen: number;
  debtFen: number;
}

export interface LedgerView {
  id: number;
  reference: string;
  kind: string;
  amountFen: number;
  balanceAfterFen: number;
  debtAfterFen: number;
  description: string;
  rentalId: string | null;
  createdAt: string;
}

export const LEDGER_COLUMNS = `id, reference, kind, amount_fen AS "amountFen", balance_after_fen AS "balanceAfterFen", debt_after_fen AS "debtAfterFen",
  description, rental_id AS "rentalId", to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`;

export const WALLET_COLUMNS = 'wallet_balance_fen AS "balanceFen", deposit_fen AS "depositFen", debt_fen AS "debtFen"';

/**
 * Books one change of a member's balance inside the caller's transaction, under the member's row
 * lock: the ledger entry (a reference already booked makes it a no-op, returning undefined), then
 * the balance, the debt (whatever is below zero) and the deposit. The same rule as the billing
 * service's applyChange.
 */
export async function bookEntry(
  tx: PoolClient,
  entry: { memberId: string; reference: string; kind: string; amountFen: number; depositChangeFen?: number; description: string; requestedBy: string },
): Promise<{ entry: LedgerView; wallet: WalletView } | undefined> {
  const { rows } = await tx.query<WalletView>(`SELECT ${WALLET_COLUMNS} FROM members WHERE id = $1 FOR UPDATE`, [entry.memberId]);
  const before = rows[0];
  if (!before) return undefined;
  const wallet: WalletView = {
    balanceFen: before.balanceFen + entry.amountFen,
    depositFen: before.depositFen + (entry.depositChangeFen ?? 0),
    debtFen: Math.max(0, -(before.balanceFen + entry.amountFen)),
  };
  const inserted = await tx.query<LedgerView>(
    `INSERT INTO ledger (member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, requested_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reference) DO NOTHING RETURNING ${LEDGER_COLUMNS}`,
    [entry.memberId, entry.reference, entry.kind, entry.amountFen, wallet.balanceFen, wallet.debtFen, entry.description, entry.requestedBy],
  );
  if (!inserted.rows[0]) return undefined;
  await tx.query('UPDATE members SET wallet_balance_fen = $2, deposit_fen = $3, debt_fen = $4, updated_at = now() WHERE id = $1', [
    entry.memberId,
    wallet.balanceFen,
    wallet.depositFen,
    wallet.debtFen,
  ]);
  return { entry: inserted.rows[0], wallet };
}

export async function walletOf(context: { db: Pool }, memberId: string): Promise<WalletView | undefined> {
  const { rows } = await context.db.query<WalletView>(`SELECT ${WALLET_COLUMNS} FROM members WHERE id = $1`, [memberId]);
  return rows[0];
}

export async function ledgerPage(
  context: { db: Pool },
  memberId: string,
  { limit, before }: { limit: number; before?: number },
): Promise<{ items: LedgerView[]; nextBefore: number | null }> {
  const { rows } = await context.db.query<LedgerView>(
    `SELECT ${LEDGER_COLUMNS} FROM ledger WHERE member_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [memberId, before ?? null, limit + 1],
  );
  const items = rows.slice(0, limit);
  return { items, nextBefore: rows.length > limit ? items.at(-1)!.id : null };
}
