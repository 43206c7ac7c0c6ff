import { randomUUID } from 'node:crypto';
import { Problem, problems, withTransaction, type Pool } from '@evshare/kit';
import { bookEntry } from './ledger';
import type { CallbackResult, TopUpProvider } from './providers';

export interface PaymentView {
  id: string;
  provider: string;
  amountFen: number;
  status: 'pending' | 'succeeded' | 'failed';
  createdAt: string;
  completedAt: string | null;
  next?: { url: string };
}

interface PaymentRow extends PaymentView {
  memberId: string;
  providerRef: string | null;
  idempotencyKey: string;
}

const PAYMENT_COLUMNS = `id, member_id AS "memberId", provider, provider_ref AS "providerRef", amount_fen AS "amountFen", status,
  idempotency_key AS "idempotencyKey",
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "completedAt"`;

const view = ({ memberId: _m, providerRef: _r, idempotencyKey: _k, ...rest }: PaymentRow, next?: { url: string }): PaymentView => ({
  ...rest,
  ...(next ? { next } : {}),
});

/**
 * Completes a payment from a provider's confirmation, in one transaction: the payment row is the
 * state machine (pending → succeeded | failed, once) and the ledger reference `topup:<id>` makes
 * the credit unique, so a repeated confirmation changes nothing. The credit is booked here rather
 * than sent through the deduction queue: the provider is answered only once the money is in the
 * ledger (a provider retries until then), and the member sees the new balance at once.
 */
export async function completePayment(db: Pool, provider: string, result: CallbackResult): Promise<{ payment: PaymentRow; changed: boolean }> {
  return withTransaction(db, async (tx) => {
    const { rows } = await tx.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE`, [result.paymentId]);
    const payment = rows[0];
    if (!payment || payment.provider !== provider) throw problems.notFound('No such payment');
    if (payment.amountFen !== result.amountFen) {
      throw new Problem(409, 'amount-mismatch', 'Conflict', `The payment is for ${payment.amountFen} fen, the confirmation says ${result.amountFen}`);
    }
    if (payment.status !== 'pending') {
      if (payment.status === result.status) return { payment, changed: false };
      throw problems.conflict('payment-completed', `The payment has already ${payment.status}`);
    }
    if (result.status === 'succeeded') {
      await bookEntry(tx, {
        memberId: payment.memberId,
        reference: `topup:${payment.id}`,
        kind: 'top-up',
        amountFen: payment.amountFen,
        description: `Top-up (${provider})`,
        requestedBy: `payment:${provider}`,
      });
    }
    const updated = await tx.query<PaymentRow>(
      `UPDATE payments SET status = $2, provider_ref = $3, completed_at = now() WHERE id = $1 RETURNING ${PAYMENT_COLUMNS}`,
      [payment.id, result.status, result.providerRef],
    );
    return { payment: updated.rows[0]!, changed: true };
  });
}

/**
 * Starts a top-up once per (member, Idempotency-Key): a repeated request gets the first one's
 * payment; the same key with another amount or provider is refused.
 */
export async function startTopUp(
  db: Pool,
  provider: TopUpProvider,
  input: { memberId: string; amountFen: number; idempotencyKey: string },
): Promise<{ payment: PaymentView; created: boolean; credited: boolean }> {
  const id = randomUUID();
  const inserted = await db.query<PaymentRow>(
    `INSERT INTO payments (id, member_id, provider, amount_fen, idempotency_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (member_id, idempotency_key) DO NOTHING RETURNING ${PAYMENT_COLUMNS}`,
    [id, input.memberId, provider.name, input.amountFen, input.idempotencyKey],
  );
  const payment = inserted.rows[0];
  if (!payment) {
    const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE member_id = $1 AND idempotency_key = $2`, [
      input.memberId,
      input.idempotencyKey,
    ]);
    const existing = rows[0]!;
    if (existing.amountFen !== input.amountFen || existing.provider !== provider.name) {
      throw problems.conflict('idempotency-key-reused', 'This Idempotency-Key was used for a different top-up; use a new key');
    }
    return { payment: view(existing), created: false, credited: false };
  }
  const started = await provider.start({ id: payment.id, memberId: input.memberId, amountFen: input.amountFen });
  if (started.status === 'succeeded') {
    const done = await completePayment(db, provider.name, {
      paymentId: payment.id,
      providerRef: started.providerRef,
      amountFen: input.amountFen,
      status: 'succeeded',
    });
    return { payment: view(done.payment), created: true, credited: done.changed };
  }
  if (started.providerRef) await db.query('UPDATE payments SET provider_ref = $2 WHERE id = $1', [payment.id, started.providerRef]);
  return { payment: view(payment, started.next), created: true, credited: false };
}

export async function paymentOf(db: Pool, memberId: string, paymentId: string): Promise<PaymentView | undefined> {
  const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND member_id = $2`, [paymentId, memberId]);
  return rows[0] ? view(rows[0]) : undefined;
}
