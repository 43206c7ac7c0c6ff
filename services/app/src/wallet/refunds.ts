import { randomUUID } from 'node:crypto';
import { problems, withTransaction, type Logger, type Pool, type PoolClient } from '@evshare/kit';
import { bookEntry } from './ledger';
import type { RefundResult, TopUpProvider } from './providers';
import { depositRefundRefusal } from './refund-rules';

export interface RefundView {
  id: string;
  memberId: string;
  provider: string;
  amountFen: number;
  status: 'pending' | 'succeeded' | 'failed';
  failure: string | null;
  createdAt: string;
  completedAt: string | null;
}

const REFUND_COLUMNS = `id, member_id AS "memberId", provider, amount_fen AS "amountFen", status, failure,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "completedAt"`;

/**
 * Takes the deposit out of the member's account and records the refund, in one transaction under
 * the member's row lock; or finds the refund this Idempotency-Key asked for before.
 */
async function openRefund(
  tx: PoolClient,
  provider: string,
  input: { memberId: string; idempotencyKey: string },
): Promise<{ refund: RefundView; created: boolean } | undefined> {
  // A negative balance is owed even before billing moved it to the debt.
  const { rows: members } = await tx.query<{ depositFen: number; debtFen: number }>(
    'SELECT deposit_fen AS "depositFen", greatest(debt_fen, -wallet_balance_fen, 0) AS "debtFen" FROM members WHERE id = $1 FOR UPDATE',
    [input.memberId],
  );
  const member = members[0];
  if (!member) return undefined;
  const { rows: earlier } = await tx.query<RefundView>(`SELECT ${REFUND_COLUMNS} FROM deposit_refunds WHERE member_id = $1 AND idempotency_key = $2`, [
    input.memberId,
    input.idempotencyKey,
  ]);
  if (earlier[0]) {
    if (earlier[0].provider !== provider)
      throw problems.conflict('idempotency-key-reused', 'This Idempotency-Key asked for a refund through another provider; use a new key');
    return { refund: earlier[0], created: false };
  }
  const { rows } = await tx.query<{ holdsCar: boolean; chargesPending: boolean; refundPending: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM reservations WHERE member_id = $1 AND status = 'active')
              OR EXISTS (SELECT 1 FROM rentals WHERE member_id = $1 AND status IN ('unlocking', 'active')) AS "holdsCar",
            EXISTS (SELECT 1 FROM rental_deduction_outbox o WHERE o.message->>'memberId' = $1::text
                      AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.reference = o.reference)) AS "chargesPending",
            EXISTS (SELECT 1 FROM deposit_refunds WHERE member_id = $1 AND status = 'pending') AS "refundPending"`,
    [input.memberId],
  );
  const refusal = depositRefundRefusal({ ...member, ...rows[0]! });
  if (refusal) throw problems.conflict(refusal.reason, refusal.detail);
  const id = randomUUID();
  const { rows: created } = await tx.query<RefundView>(
    `INSERT INTO deposit_refunds (id, member_id, provider, amount_fen, idempotency_key) VALUES ($1, $2, $3, $4, $5) RETURNING ${REFUND_COLUMNS}`,
    [id, input.memberId, provider, member.depositFen, input.idempotencyKey],
  );
  await bookEntry(tx, {
    memberId: input.memberId,
    reference: `deposit-refund:${id}`,
    kind: 'deposit-refund',
    amountFen: 0,
    depositChangeFen: -member.depositFen,
    description: `Deposit paid back (${provider})`,
    requestedBy: 'member',
  });
  return { refund: created[0]!, created: true };
}

/** Records the provider's answer once: a refusal books the deposit back. */
async function settleRefund(db: Pool, refundId: string, result: RefundResult): Promise<RefundView> {
  return withTransaction(db, async (tx) => {
    const { rows } = await tx.query<RefundView>(`SELECT ${REFUND_COLUMNS} FROM deposit_refunds WHERE id = $1 FOR UPDATE`, [refundId]);
    const refund = rows[0]!;
    if (refund.status !== 'pending') return refund;
    if (result.status === 'failed') {
      await bookEntry(tx, {
        memberId: refund.memberId,
        reference: `deposit-refund:${refund.id}:reversal`,
        kind: 'deposit-refund-reversal',
        amountFen: 0,
        depositChangeFen: refund.amountFen,
        description: `Deposit refund refused by ${refund.provider}: back in the deposit`,
        requestedBy: `payment:${refund.provider}`,
      });
    }
    const { rows: settled } = await tx.query<RefundView>(
      `UPDATE deposit_refunds SET status = $2, provider_ref = $3, failure = $4, completed_at = now() WHERE id = $1 RETURNING ${REFUND_COLUMNS}`,
      [refund.id, result.status, result.status === 'succeeded' ? result.providerRef : null, result.status === 'failed' ? result.reason : null],
    );
    return settled[0]!;
  });
}

/**
 * A member's request to have their deposit paid back (docs/billing.md, "Deposit refunds"): once
 * per Idempotency-Key. The deposit leaves the account before the provider is asked, so nothing
 * can be rented on it meanwhile; a provider that cannot be reached leaves the refund pending, and
 * repeating the request asks again under the same refund id (the provider's idempotency key).
 */
export async function requestDepositRefund(
  db: Pool,
  provider: TopUpProvider,
  log: Logger,
  input: { memberId: string; idempotencyKey: string },
): Promise<{ refund: RefundView; created: boolean }> {
  const refundWith = provider.refund?.bind(provider);
  if (!refundWith) throw problems.conflict('refund-unavailable', `The ${provider.name} provider pays no refunds; choose another provider`);
  const opened = await withTransaction(db, (tx) => openRefund(tx, provider.name, input));
  if (!opened) throw problems.notFound('No such member');
  if (opened.refund.status !== 'pending') return opened;
  return { refund: await askProvider(db, refundWith, log, opened.refund), created: opened.created };
}

/** Asks the provider to pay a pending refund (again) under its id and records the answer; unreachable: still pending. */
async function askProvider(db: Pool, refundWith: NonNullable<TopUpProvider['refund']>, log: Logger, refund: RefundView): Promise<RefundView> {
  let result: RefundResult;
  try {
    result = await refundWith({ id: refund.id, memberId: refund.memberId, amountFen: refund.amountFen });
  } catch (error) {
    log.warn({ err: error, refundId: refund.id }, 'deposit refund not confirmed by the provider yet; it stays pending');
    return refund;
  }
  return settleRefund(db, refund.id, result);
}

/**
 * Asks the providers again for the refunds still pending after `afterS` seconds (a provider that
 * was down when the member asked), so a refund settles without the member repeating the request.
 * Safe on several instances at once: the provider answers a refund id once, and the settlement
 * applies once under the row lock.
 */
export async function retryPendingRefunds(db: Pool, providers: ReadonlyMap<string, TopUpProvider>, log: Logger, afterS: number): Promise<number> {
  const { rows } = await db.query<RefundView>(
    `SELECT ${REFUND_COLUMNS} FROM deposit_refunds WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 50`,
    [afterS],
  );
  let settled = 0;
  for (const refund of rows) {
    const refundWith = providers.get(refund.provider)?.refund?.bind(providers.get(refund.provider));
    if (!refundWith) continue;
    if ((await askProvider(db, refundWith, log, refund)).status !== 'pending') settled += 1;
  }
  return settled;
}

export async function memberRefunds(db: Pool, memberId: string): Promise<RefundView[]> {
  const { rows } = await db.query<RefundView>(`SELECT ${REFUND_COLUMNS} FROM deposit_refunds WHERE member_id = $1 ORDER BY created_at DESC LIMIT 100`, [
    memberId,
  ]);
  return rows;
}

export async function refunds(db: Pool, filter: { status?: string | undefined; memberId?: string | undefined; limit: number }): Promise<RefundView[]> {
  const { rows } = await db.query<RefundView>(
    `SELECT ${REFUND_COLUMNS} FROM deposit_refunds WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR member_id = $2)
      ORDER BY created_at DESC LIMIT $3`,
    [filter.status ?? null, filter.memberId ?? null, filter.limit],
  );
  return rows;
}
