import { z } from 'zod';
import client from 'prom-client';
import {
  bumpSyncVersion,
  createHealth,
  createMetrics,
  deductionMessageSchema,
  env,
  receiptSubject,
  smsSubject,
  withTransaction,
  STREAMS,
  type Bus,
  type DeductionMessage,
  type DurableMessage,
  type KeyValueStore,
  type Logger,
  type Pool,
  type PushNotification,
  type ReceiptEvent,
  type RunningService,
  type SmsMessage,
  serviceEnv,
  serveWorker,
  DURABLES,
} from '@evshare/kit';
import { applyDeduction, stateBefore, yuan } from './apply';
import { deterministicUuid, pushToMember } from './notify';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 8084),
  /** A deduction not acknowledged this long after delivery (a crashed instance) goes to another. */
  BILLING_ACK_WAIT_MS: env.positiveInt(30_000),
});
export type BillingConfig = z.infer<typeof billingConfigSchema>;

export interface BillingDeps {
  config: BillingConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  /** The data cache: the member's sync version lives there. */
  cache: KeyValueStore;
}

/** The durable consumer's name: every billing instance shares it, so each deduction goes to one. */
export const BILLING_DURABLE = DURABLES.billing;

interface LedgerEntry {
  memberId: string;
  reference: string;
  kind: DeductionMessage['kind'];
  amountFen: number;
  balanceAfterFen: number;
  debtAfterFen: number;
  description: string;
  createdAt: Date;
}

interface Contact {
  phone: string | null;
  locale: 'zh-CN' | 'en';
}

type Outcome = { result: 'applied' | 'duplicate'; entry: LedgerEntry; contact: Contact } | { result: 'unknown-member' };

const ENTRY_COLUMNS = `member_id AS "memberId", reference, kind, amount_fen AS "amountFen", balance_after_fen AS "balanceAfterFen",
  debt_after_fen AS "debtAfterFen", description, created_at AS "createdAt"`;

function receiptTitle(entry: LedgerEntry, locale: Contact['locale']): string {
  const amount = yuan(Math.abs(entry.amountFen));
  if (entry.amountFen > 0) return locale === 'en' ? `Refund ¥${amount}` : `退款 ¥${amount}`;
  return locale === 'en' ? `Charged ¥${amount}` : `扣费 ¥${amount}`;
}

/**
 * Applies one deduction in one transaction: the member row is locked, the ledger entry inserted
 * (its unique reference turns a redelivery into a no-op), the balance and debt updated, and the
 * receipt notice stored. A reference already in the ledger returns that entry as a duplicate.
 */
export async function applyDeductionInDatabase(db: Pool, message: DeductionMessage): Promise<Outcome> {
  return withTransaction(db, async (tx) => {
    const { rows: members } = await tx.query<{ balanceFen: number; debtFen: number; phone: string | null; locale: Contact['locale'] }>(
      'SELECT wallet_balance_fen AS "balanceFen", debt_fen AS "debtFen", phone, locale FROM members WHERE id = $1 FOR UPDATE',
      [message.memberId],
    );
    const member = members[0];
    if (!member) return { result: 'unknown-member' };
    const contact: Contact = { phone: member.phone, locale: member.locale };
    const change = applyDeduction(member.balanceFen, member.debtFen, message);
    const inserted = await tx.query<LedgerEntry>(
      `INSERT INTO ledger (member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, rental_id, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (reference) DO NOTHING RETURNING ${ENTRY_COLUMNS}`,
      [message.memberId, message.reference, message.kind, change.amountFen, change.balanceFen, change.debtFen, message.description, message.rentalId ?? null, message.requestedBy],
    );
    const entry = inserted.rows[0];
    if (!entry) {
      const { rows } = await tx.query<LedgerEntry>(`SELECT ${ENTRY_COLUMNS} FROM ledger WHERE reference = $1`, [message.reference]);
      return { result: 'duplicate', entry: rows[0]!, contact };
    }
    await tx.query('UPDATE members SET wallet_balance_fen = $2, debt_fen = $3, updated_at = now() WHERE id = $1', [message.memberId, change.balanceFen, change.debtFen]);
    await tx.query('INSERT INTO notifications (id, member_id, kind, title, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING', [
      deterministicUuid(`receipt:${entry.reference}`),
      entry.memberId,
      'receipt',
      receiptTitle(entry, contact.locale),
      JSON.stringify(receiptBody(entry)),
    ]);
    return { result: 'applied', entry, contact };
  });
}

function receiptBody(entry: LedgerEntry) {
  return { reference: entry.reference, kind: entry.kind, amountFen: entry.amountFen, balanceFen: entry.balanceAfterFen, debtFen: entry.debtAfterFen, description: entry.description };
}

/** The deduction (billing) service: consumes DEDUCTIONS and keeps the ledger (patent claim 1). */
export async function startBilling(deps: BillingDeps): Promise<RunningService> {
  const { config, log, db, bus, cache } = deps;
  const health = createHealth();
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('cache', () => cache.ping());
  health.addCheck('bus', () => bus.ping());
  const metrics = createMetrics('billing', config.INSTANCE_ID);
  const counter = (name: string, help: string, labelNames: string[] = []) => new client.Counter({ name, help, labelNames, registers: [metrics.registry] });
  const applied = counter('billing_deductions_applied_total', 'Deductions applied to the ledger, by kind', ['kind']);
  const duplicates = counter('billing_deductions_duplicate_total', 'Deliveries of a deduction already in the ledger (acknowledged, no effect)');
  const failures = counter('billing_deductions_failed_total', 'Deliveries that failed and will be redelivered');
  const rejected = counter('billing_deductions_rejected_total', 'Deductions that can never apply (invalid, unknown member), by reason', ['reason']);

  /** After the commit: receipt event, debt SMS, live push. Repeated for a duplicate, as they may not have happened. */
  const announce = async (entry: LedgerEntry, contact: Contact, fresh: boolean) => {
    const receipt: ReceiptEvent = {
      reference: entry.reference,
      memberId: entry.memberId,
      kind: entry.kind,
      amountFen: entry.amountFen,
      balanceFen: entry.balanceAfterFen,
      debtFen: entry.debtAfterFen,
      at: entry.createdAt.toISOString(),
    };
    // Both msgIds are stable, so JetStream drops what a redelivery publishes again.
    await bus.publishDurable(receiptSubject, receipt, entry.reference);
    const debtIncrease = entry.debtAfterFen - stateBefore(entry).debtFen;
    if (debtIncrease > 0 && contact.phone) {
      const sms: SmsMessage = {
        reference: `debt:${entry.reference}`,
        phone: contact.phone,
        template: 'debt',
        locale: contact.locale,
        params: { debtFen: entry.debtAfterFen, amountFen: -entry.amountFen },
        memberId: entry.memberId,
        at: new Date().toISOString(),
      };
      await bus.publishDurable(smsSubject('debt'), sms, sms.reference);
    }
    await bumpSyncVersion(cache, entry.memberId);
    if (fresh) {
      const notification: PushNotification = {
        id: deterministicUuid(`receipt:${entry.reference}`),
        kind: 'receipt',
        title: receiptTitle(entry, contact.locale),
        body: receiptBody(entry),
        at: entry.createdAt.toISOString(),
      };
      pushToMember(bus, entry.memberId, notification);
    }
  };

  const handle = async (message: DurableMessage) => {
    const parsed = deductionMessageSchema.safeParse(message.data);
    if (!parsed.success) {
      // No redelivery can fix it: acknowledged, counted and logged for an operator.
      rejected.inc({ reason: 'invalid' });
      log.error({ seq: message.seq, subject: message.subject, issues: parsed.error.issues }, 'invalid deduction message dropped');
      return;
    }
    const deduction = parsed.data;
    let outcome: Outcome;
    try {
      outcome = await applyDeductionInDatabase(db, deduction);
    } catch (error) {
      failures.inc();
      log.warn({ err: error, reference: deduction.reference, delivery: message.deliveryCount }, 'deduction failed, will be redelivered');
      throw error;
    }
    if (outcome.result === 'unknown-member') {
      rejected.inc({ reason: 'unknown-member' });
      log.error({ reference: deduction.reference, memberId: deduction.memberId }, 'deduction for an unknown member dropped');
      return;
    }
    if (outcome.result === 'duplicate') {
      duplicates.inc();
      if (outcome.entry.memberId !== deduction.memberId) {
        log.error({ reference: deduction.reference }, 'deduction reference already used for another member; not applied');
        return;
      }
    } else applied.inc({ kind: deduction.kind });
    try {
      await announce(outcome.entry, outcome.contact, outcome.result === 'applied');
    } catch (error) {
      // Redelivered: the ledger sees a duplicate and the announcements are made again.
      failures.inc();
      throw error;
    }
  };

  const consumer = await bus.consume(STREAMS.deductions.name, BILLING_DURABLE, handle, { ackWaitMs: config.BILLING_ACK_WAIT_MS });
  return serveWorker('billing', { log, metrics, health, consumer, port: config.PORT, host: config.HOST });
}
