import { z } from 'zod';
import client from 'prom-client';
import {
  bumpSyncVersion,
  createHealth,
  createMetrics,
  deductionMessageSchema,
  deliverNotice,
  deterministicUuid,
  lowBalanceCrossed,
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
import { planLedger, stateBefore, yuan, type PlannedEntry } from './apply';
import { createDispatcher } from './dispatch';
import { pushToMember } from './notify';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 8084),
  /** A deduction not acknowledged this long after delivery (a crashed instance) goes to another. */
  BILLING_ACK_WAIT_MS: env.positiveInt(30_000),
  /** Transactions in flight per instance (each on its own database connection, so below DATABASE_POOL_SIZE). */
  BILLING_CONCURRENCY: env.positiveInt(4),
  /** Deductions applied in one transaction at most (one commit for all of them). */
  BILLING_BATCH_MAX: env.positiveInt(32),
  /** A deduction taking the balance below this (fen) tells the member once per crossing (docs/push.md). */
  LOW_BALANCE_NOTICE_FEN: env.positiveInt(2_000),
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

/** A ledger row as read back: what the batch planned, with the time it was booked. */
type LedgerEntry = Omit<PlannedEntry, 'rentalId' | 'requestedBy'> & { createdAt: Date };

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

interface WalletRow {
  id: string;
  balanceFen: number;
  debtFen: number;
  phone: string | null;
  locale: Contact['locale'];
}

/** The batch lost a race for a reference to a transaction of another member: read again and redo. */
class ReferenceRace extends Error {}

/** Deadlock and serialization failures: the transaction was rolled back and may simply run again. */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

/**
 * Applies several deductions in one transaction, one after another in the given order: the
 * members' rows are locked (in id order, so two transactions never deadlock on each other), the
 * references already in the ledger read, the entries planned (pure `planLedger`) and inserted
 * (the unique reference still guards: a row another transaction won is a race, and the whole
 * batch is redone), the balances and debts updated, the receipt notices stored. A reference
 * already in the ledger returns that entry as a duplicate.
 */
async function applyBatch(db: Pool, deductions: readonly DeductionMessage[]): Promise<Outcome[]> {
  return withTransaction(db, async (tx) => {
    const memberIds = [...new Set(deductions.map((d) => d.memberId))];
    const references = [...new Set(deductions.map((d) => d.reference))];
    const { rows: members } = await tx.query<WalletRow>(
      'SELECT id, wallet_balance_fen AS "balanceFen", debt_fen AS "debtFen", phone, locale FROM members WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
      [memberIds],
    );
    const byId = new Map(members.map((m) => [m.id, m]));
    const { rows: existing } = await tx.query<LedgerEntry>(`SELECT ${ENTRY_COLUMNS} FROM ledger WHERE reference = ANY($1::text[])`, [references]);
    const plan = planLedger(deductions, byId, new Set(existing.map((e) => e.reference)));
    const entries = new Map(existing.map((e) => [e.reference, e]));
    if (plan.entries.length > 0) {
      const column = <K extends keyof PlannedEntry>(key: K) => plan.entries.map((e) => e[key]);
      const inserted = await tx.query<LedgerEntry>(
        `INSERT INTO ledger (member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, rental_id, requested_by)
         SELECT member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, rental_id, requested_by
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::uuid[], $9::text[])
                WITH ORDINALITY AS e(member_id, reference, kind, amount_fen, balance_after_fen, debt_after_fen, description, rental_id, requested_by, n)
          ORDER BY n
         ON CONFLICT (reference) DO NOTHING RETURNING ${ENTRY_COLUMNS}`,
        [
          column('memberId'),
          column('reference'),
          column('kind'),
          column('amountFen'),
          column('balanceAfterFen'),
          column('debtAfterFen'),
          column('description'),
          column('rentalId'),
          column('requestedBy'),
        ],
      );
      if (inserted.rows.length !== plan.entries.length) throw new ReferenceRace('a reference of the batch was inserted meanwhile');
      for (const entry of inserted.rows) entries.set(entry.reference, entry);
      const wallets = [...plan.wallets];
      await tx.query(
        `UPDATE members m SET wallet_balance_fen = w.balance, debt_fen = w.debt, updated_at = now()
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS w(id, balance, debt) WHERE m.id = w.id`,
        [wallets.map(([id]) => id), wallets.map(([, w]) => w.balanceFen), wallets.map(([, w]) => w.debtFen)],
      );
      const notices = inserted.rows;
      await tx.query(
        `INSERT INTO notifications (id, member_id, kind, title, body)
         SELECT id, member_id, 'receipt', title, body FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[]) AS n(id, member_id, title, body)
         ON CONFLICT (id) DO NOTHING`,
        [
          notices.map((e) => deterministicUuid(`receipt:${e.reference}`)),
          notices.map((e) => e.memberId),
          notices.map((e) => receiptTitle(e, byId.get(e.memberId)!.locale)),
          notices.map((e) => JSON.stringify(receiptBody(e))),
        ],
      );
    }
    return plan.outcomes.map((planned, i): Outcome => {
      if (planned.result === 'unknown-member') return planned;
      const member = byId.get(deductions[i]!.memberId)!;
      const entry = entries.get(planned.result === 'applied' ? planned.entry.reference : planned.reference)!;
      return { result: planned.result, entry, contact: { phone: member.phone, locale: member.locale } };
    });
  });
}

function retryable(error: unknown): boolean {
  return error instanceof ReferenceRace || RETRYABLE_SQLSTATES.has((error as { code?: unknown } | undefined)?.code as string);
}

/**
 * Applies deductions in as few transactions as possible: all in one, retried when it lost a race
 * or a deadlock; if the batch still fails, each deduction alone, in order, so one deduction that
 * cannot be written (or a database that is down) fails only itself.
 */
export async function applyDeductionsInDatabase(
  db: Pool,
  deductions: readonly DeductionMessage[],
): Promise<Array<Outcome | { result: 'failed'; error: unknown }>> {
  const attempt = async (batch: readonly DeductionMessage[]) => {
    for (let n = 1; ; n++) {
      try {
        return await applyBatch(db, batch);
      } catch (error) {
        if (n >= ATTEMPTS || !retryable(error)) throw error;
      }
    }
  };
  try {
    return await attempt(deductions);
  } catch (error) {
    if (deductions.length === 1) return [{ result: 'failed', error }];
  }
  const outcomes: Array<Outcome | { result: 'failed'; error: unknown }> = [];
  for (const deduction of deductions) {
    try {
      outcomes.push((await attempt([deduction]))[0]!);
    } catch (error) {
      outcomes.push({ result: 'failed', error });
    }
  }
  return outcomes;
}

function receiptBody(entry: LedgerEntry) {
  return {
    reference: entry.reference,
    kind: entry.kind,
    amountFen: entry.amountFen,
    balanceFen: entry.balanceAfterFen,
    debtFen: entry.debtAfterFen,
    description: entry.description,
  };
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
  const batchSize = new client.Histogram({
    name: 'billing_batch_deductions',
    help: 'Deductions applied together in one transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [metrics.registry],
  });

  /** After the commit: receipt event, debt SMS, live push, low-balance notice. Repeated for a duplicate, as they may not have happened. */
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
    // After the receipt, so the warning is the member's latest notice.
    const after = { balanceFen: entry.balanceAfterFen, debtFen: entry.debtAfterFen };
    if (lowBalanceCrossed(stateBefore(entry), after, config.LOW_BALANCE_NOTICE_FEN)) {
      // Named after the deduction that crossed, so a redelivery tells nothing twice.
      await deliverNotice(
        { db, cache, bus },
        { memberId: entry.memberId, kind: 'low-balance', reference: `low-balance:${entry.reference}`, params: { balanceFen: entry.balanceAfterFen } },
      );
    }
  };

  /** What to do with one outcome; resolves to acknowledge, throws to have it redelivered. */
  const finish = async (deduction: DeductionMessage, delivery: number, outcome: Outcome | { result: 'failed'; error: unknown }) => {
    if (outcome.result === 'failed') {
      failures.inc();
      log.warn({ err: outcome.error, reference: deduction.reference, delivery }, 'deduction failed, will be redelivered');
      throw outcome.error;
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

  interface Job {
    deduction: DeductionMessage;
    delivery: number;
    /** Acknowledge. */
    resolve: () => void;
    /** Redeliver. */
    reject: (error: unknown) => void;
  }
  const concurrency = Math.max(1, Math.min(config.BILLING_CONCURRENCY, db.options.max - 1));
  if (concurrency < config.BILLING_CONCURRENCY) {
    log.warn(
      { requested: config.BILLING_CONCURRENCY, poolSize: db.options.max, concurrency },
      'BILLING_CONCURRENCY above the database pool (less one for health checks); reduced',
    );
  }
  const dispatcher = createDispatcher<Job>({ keyOf: (job) => job.deduction.memberId, maxRunning: concurrency, maxBatch: config.BILLING_BATCH_MAX });

  /** One batch: one transaction, then each member's announcements in order (members in parallel). */
  const run = async (batch: Job[]) => {
    batchSize.observe(batch.length);
    try {
      const outcomes = await applyDeductionsInDatabase(
        db,
        batch.map((job) => job.deduction),
      );
      const byMember = new Map<string, Array<[Job, (typeof outcomes)[number]]>>();
      batch.forEach((job, i) => {
        const list = byMember.get(job.deduction.memberId) ?? [];
        list.push([job, outcomes[i]!]);
        byMember.set(job.deduction.memberId, list);
      });
      await Promise.all(
        [...byMember.values()].map(async (list) => {
          for (const [job, outcome] of list) await finish(job.deduction, job.delivery, outcome).then(job.resolve, job.reject);
        }),
      );
    } catch (error) {
      // Not expected (every outcome is settled above); the deliveries must not hang meanwhile.
      for (const job of batch) job.reject(error);
    } finally {
      dispatcher.done(batch);
      pump();
    }
  };
  const pump = () => {
    for (let batch = dispatcher.take(); batch; batch = dispatcher.take()) void run(batch);
  };

  const handle = async (message: DurableMessage) => {
    const parsed = deductionMessageSchema.safeParse(message.data);
    if (!parsed.success) {
      // No redelivery can fix it: acknowledged, counted and logged for an operator.
      rejected.inc({ reason: 'invalid' });
      log.error({ seq: message.seq, subject: message.subject, issues: parsed.error.issues }, 'invalid deduction message dropped');
      return;
    }
    const done = new Promise<void>((resolve, reject) => dispatcher.enqueue({ deduction: parsed.data, delivery: message.deliveryCount, resolve, reject }));
    pump();
    await done;
  };

  // Up to BILLING_BATCH_MAX deductions for each of the transactions in flight are in hand, so a
  // transaction that ends finds the next batch waiting.
  const consumer = await bus.consume(STREAMS.deductions.name, BILLING_DURABLE, handle, {
    ackWaitMs: config.BILLING_ACK_WAIT_MS,
    concurrency: concurrency * config.BILLING_BATCH_MAX,
  });
  return serveWorker('billing', { log, metrics, health, consumer, port: config.PORT, host: config.HOST });
}
