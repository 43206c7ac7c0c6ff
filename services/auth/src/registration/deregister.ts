import { problems, withTransaction, type Pool, type PoolClient } from '@evshare/kit';

/** Whether a table of the rental business holds an open row of the member's (false before that table exists). */
async function hasOpen(tx: PoolClient, table: 'rentals' | 'reservations', memberId: string): Promise<boolean> {
  const { rows } = await tx.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  if (!rows[0]?.present) return false;
  // The same "open" states as the rental migration's one-per-member indexes.
  const open = table === 'rentals' ? "status IN ('unlocking', 'active')" : "status = 'active'";
  const found = await tx.query(`SELECT 1 FROM ${table} WHERE member_id = $1 AND ${open} LIMIT 1`, [memberId]);
  return Boolean(found.rowCount);
}

/**
 * Closes a member's account: refused with an open rental or a debt; what is left in the wallet
 * and the deposit is booked out as a payout (the ledger keeps the history, the money goes back
 * through the payment provider); phone, username, name, licence, notifications and the phone in
 * the SMS log are removed. The member row stays, anonymous, because the ledger refers to it.
 */
export async function deregister(db: Pool, memberId: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ balanceFen: number; depositFen: number; debtFen: number; status: string; phone: string | null }>(
      'SELECT wallet_balance_fen AS "balanceFen", deposit_fen AS "depositFen", debt_fen AS "debtFen", status, phone FROM members WHERE id = $1 FOR UPDATE',
      [memberId],
    );
    const member = rows[0];
    if (!member || member.status === 'deregistered') throw problems.notFound('No such member');
    if (member.debtFen > 0 || member.balanceFen < 0) throw problems.conflict('debt-outstanding', 'Pay the outstanding debt before deregistering');
    if (await hasOpen(tx, 'rentals', memberId)) throw problems.conflict('rental-open', 'End the current rental before deregistering');
    if (await hasOpen(tx, 'reservations', memberId)) throw problems.conflict('reservation-open', 'Cancel the current reservation before deregistering');
    let balance = member.balanceFen;
    const book = async (reference: string, kind: string, amountFen: number, description: string) => {
      balance += amountFen;
      await tx.query(
        `INSERT INTO ledger (member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, requested_by)
         VALUES ($1, $2, $3, $4, $5, 0, $6, 'auth:deregister')`,
        [memberId, reference, kind, amountFen, balance, description],
      );
    };
    if (member.depositFen > 0) await book(`deregister:${memberId}:deposit`, 'deposit-release', member.depositFen, 'Deposit released at deregistration');
    if (balance > 0) await book(`deregister:${memberId}:payout`, 'payout', -balance, 'Balance paid out at deregistration');
    await tx.query(
      `UPDATE members SET phone = NULL, username = NULL, display_name = 'Deregistered member', password_hash = '!',
              licence_number = NULL, licence_expires_on = NULL, licence_status = 'unverified', licence_reject_reason = NULL,
              wallet_balance_fen = 0, deposit_fen = 0, debt_fen = 0,
              status = 'deregistered', deregistered_at = now(), updated_at = now()
        WHERE id = $1`,
      [memberId],
    );
    await tx.query('DELETE FROM notifications WHERE member_id = $1', [memberId]);
    // Codes sent before registration carry the phone but no member id.
    await tx.query(`UPDATE sms_log SET phone = 'removed', body = '' WHERE member_id = $1 OR phone = $2`, [memberId, member.phone]);
  });
}
