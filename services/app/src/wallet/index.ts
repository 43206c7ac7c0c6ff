import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { invalidParamsFromZod, problems, route, withTransaction } from '@evshare/kit';
import { walletOperations } from '@evshare/api';
import { apiLimits } from '../config';
import type { AppContext, DomainMount } from '../context';
import { notifyMember } from '../notifications';
import { walletAdminRoutes } from './admin';
import { licenceRoutes } from './licence';
import { bookEntry, ledgerPage, walletOf, WALLET_COLUMNS, type WalletView } from './ledger';
import { providersFromConfig } from './providers';
import { memberRefunds, refunds, requestDepositRefund, retryPendingRefunds } from './refunds';
import { completePayment, paymentOf, startTopUp } from './topups';

const yuan = (fenAmount: number) => (fenAmount / 100).toFixed(2);

/**
 * The wallet domain of the APP service: balance, deposit and debt, the member's ledger, top-ups
 * through payment providers and their callbacks, driving-licence verification, and the
 * operators' wallet, member-status, deduction and SMS endpoints.
 */
export function mountWallet(context: AppContext): DomainMount {
  const { db, config } = context;
  const providers = providersFromConfig(config);
  const limits = apiLimits(config);
  const ops = walletOperations(limits);

  const log = context.log.child({ domain: 'wallet' });
  let retrying = false;
  const refundRetry = setInterval(() => {
    // A closing instance does nothing; one pass at a time.
    if (retrying || db.ending) return;
    retrying = true;
    void retryPendingRefunds(db, providers, log, config.REFUND_RETRY_INTERVAL_MS / 1000)
      .catch((error: unknown) => log.warn({ err: error }, 'deposit refund retry failed'))
      .finally(() => {
        retrying = false;
      });
  }, config.REFUND_RETRY_INTERVAL_MS);
  // The retry alone must not keep a process alive.
  refundRetry.unref();

  return {
    stop: () => clearInterval(refundRetry),
    routes: [
      route(ops.wallet, async ({ session }, _req, res) => {
        const wallet = await walletOf(context, session.memberId);
        if (!wallet) throw problems.notFound('No such member');
        res.json(wallet);
      }),

      route(ops.ledger, async ({ session, query }, _req, res) => {
        res.json(await ledgerPage(context, session.memberId, query));
      }),

      route(ops.topUp, async ({ session, body, headers }, _req, res) => {
        const memberId = session.memberId;
        const result = await startTopUp(db, providers.get(body.provider)!, { memberId, amountFen: body.amountFen, idempotencyKey: headers['Idempotency-Key'] });
        if (result.credited)
          await notifyMember(context, memberId, { kind: 'top-up', title: `Top-up ¥${yuan(body.amountFen)}`, body: { paymentId: result.payment.id } });
        res
          .status(result.created ? 201 : 200)
          .location(`/api/v1/wallet/top-ups/${result.payment.id}`)
          .json(result.payment);
      }),

      route(ops.topUpStatus, async ({ session, params }, _req, res) => {
        // Another member's payment is indistinguishable from a missing one.
        const payment = await paymentOf(db, session.memberId, params.id);
        if (!payment) throw problems.notFound('No such payment');
        res.json(payment);
      }),

      // The provider calls this, not a member: no session, the signature is the authentication.
      route(ops.paymentCallback, async ({ params }, req, res) => {
        const provider = providers.get(params.provider);
        if (!provider?.verifyCallback) throw problems.notFound('No such payment provider');
        let verified;
        try {
          verified = provider.verifyCallback(req.body as Record<string, unknown>, new Date());
        } catch (error) {
          if (error instanceof z.ZodError) throw problems.validation(invalidParamsFromZod(error, 'body'));
          throw error;
        }
        if (!verified) throw problems.unauthenticated('The callback signature is wrong or too old');
        const { payment, changed } = await completePayment(db, provider.name, verified);
        if (changed && payment.status === 'succeeded') {
          await notifyMember(context, payment.memberId, { kind: 'top-up', title: `Top-up ¥${yuan(payment.amountFen)}`, body: { paymentId: payment.id } });
        }
        res.json({ received: true, paymentId: payment.id, status: payment.status });
      }),

      route(ops.deposit, async ({ session, body, headers }, _req, res) => {
        const memberId = session.memberId;
        const key = headers['Idempotency-Key'];
        const reference = key === undefined ? `deposit:${randomUUID()}` : `deposit:${memberId}:${key}`;
        const moved = await withTransaction(db, async (tx) => {
          const { rows } = await tx.query<WalletView>(`SELECT ${WALLET_COLUMNS} FROM members WHERE id = $1 FOR UPDATE`, [memberId]);
          const wallet = rows[0];
          if (!wallet) throw problems.notFound('No such member');
          const booked = await tx.query('SELECT 1 FROM ledger WHERE reference = $1', [reference]);
          if (booked.rowCount) return { wallet, created: false };
          if (wallet.debtFen > 0 || wallet.balanceFen < body.amountFen) {
            throw problems.conflict(
              'insufficient-balance',
              `The balance (${wallet.balanceFen} fen) does not cover a deposit of ${body.amountFen} fen; top up first`,
            );
          }
          const done = await bookEntry(tx, {
            memberId,
            reference,
            kind: 'deposit',
            amountFen: -body.amountFen,
            depositChangeFen: body.amountFen,
            description: 'Moved to the deposit',
            requestedBy: 'member',
          });
          return { wallet: done!.wallet, created: true };
        });
        if (moved.created) await context.members.changed(memberId);
        res.status(moved.created ? 201 : 200).json(moved.wallet);
      }),
      route(ops.refundDeposit, async ({ session, body, headers }, _req, res) => {
        const memberId = session.memberId;
        const { refund, created } = await requestDepositRefund(db, providers.get(body.provider)!, context.log, {
          memberId,
          idempotencyKey: headers['Idempotency-Key'],
        });
        if (created) await context.members.changed(memberId);
        if (created && refund.status === 'succeeded')
          await notifyMember(context, memberId, {
            kind: 'deposit-refund',
            title: `Deposit refunded ¥${yuan(refund.amountFen)}`,
            body: { refundId: refund.id },
          });
        res
          .status(created ? 201 : 200)
          .location('/api/v1/wallet/deposit-refunds')
          .json(refund);
      }),
      route(ops.depositRefunds, async ({ session }, _req, res) => {
        res.json({ items: await memberRefunds(db, session.memberId) });
      }),
      route(ops.adminDepositRefunds, async ({ query }, _req, res) => {
        res.json({ items: await refunds(db, query) });
      }),
      ...licenceRoutes(context, limits),
      ...walletAdminRoutes(context, limits),
    ],
  };
}
