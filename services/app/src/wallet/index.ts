import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Express } from 'express';
import { invalidParamsFromZod, problems, validate, withTransaction } from '@evshare/kit';
import type { AppContext } from '../service';
import { notifyMember } from '../notifications';
import { mountWalletAdmin } from './admin';
import { mountLicence } from './licence';
import { bookEntry, ledgerPage, walletOf, WALLET_COLUMNS, type WalletView } from './ledger';
import { providersFromConfig } from './providers';
import { fen, idempotencyKey, uuid } from './schemas';
import { completePayment, paymentOf, startTopUp, topUpBody } from './topups';

const yuan = (fenAmount: number) => (fenAmount / 100).toFixed(2);

const idempotencyHeader = (value: unknown) => validate(idempotencyKey, value, 'header.idempotency-key');

/**
 * The wallet domain of the APP service: balance, deposit and debt, the member's ledger, top-ups
 * through payment providers and their callbacks, driving-licence verification, and the
 * operators' wallet, member-status, deduction and SMS endpoints.
 */
export function mountWallet(app: Express, context: AppContext): void {
  const { db, authenticate } = context;
  const { config } = context;
  const providers = providersFromConfig(config);
  const topUp = topUpBody([...providers.keys()], config.TOP_UP_MAX_FEN);
  const depositBody = z.object({ amountFen: fen(config.TOP_UP_MAX_FEN) }).strict();

  app.get('/api/v1/wallet', authenticate, async (req, res) => {
    const wallet = await walletOf(context, req.session!.memberId);
    if (!wallet) throw problems.notFound('No such member');
    res.json(wallet);
  });

  app.get('/api/v1/wallet/ledger', authenticate, async (req, res) => {
    res.json(await ledgerPage(context, req.session!.memberId, req.query));
  });

  app.post('/api/v1/wallet/top-ups', authenticate, async (req, res) => {
    const key = idempotencyHeader(req.headers['idempotency-key']);
    const body = validate(topUp, req.body, 'body');
    const memberId = req.session!.memberId;
    const result = await startTopUp(db, providers.get(body.provider)!, { memberId, amountFen: body.amountFen, idempotencyKey: key });
    if (result.credited) await notifyMember(context, memberId, { kind: 'top-up', title: `Top-up ¥${yuan(body.amountFen)}`, body: { paymentId: result.payment.id } });
    res.status(result.created ? 201 : 200).location(`/api/v1/wallet/top-ups/${result.payment.id}`).json(result.payment);
  });

  app.get('/api/v1/wallet/top-ups/:id', authenticate, async (req, res) => {
    // Another member's payment is indistinguishable from a missing one.
    const payment = await paymentOf(db, req.session!.memberId, validate(uuid, req.params.id, 'path.id'));
    if (!payment) throw problems.notFound('No such payment');
    res.json(payment);
  });

  // The provider calls this, not a member: no session, the signature is the authentication.
  app.post('/api/v1/payments/callback/:provider', async (req, res) => {
    const provider = providers.get(String(req.params.provider));
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
  });

  app.post('/api/v1/wallet/deposit', authenticate, async (req, res) => {
    const body = validate(depositBody, req.body, 'body');
    const header = req.headers['idempotency-key'];
    const memberId = req.session!.memberId;
    const reference = header === undefined ? `deposit:${randomUUID()}` : `deposit:${memberId}:${idempotencyHeader(header)}`;
    const moved = await withTransaction(db, async (tx) => {
      const { rows } = await tx.query<WalletView>(`SELECT ${WALLET_COLUMNS} FROM members WHERE id = $1 FOR UPDATE`, [memberId]);
      const wallet = rows[0];
      if (!wallet) throw problems.notFound('No such member');
      const booked = await tx.query('SELECT 1 FROM ledger WHERE reference = $1', [reference]);
      if (booked.rowCount) return { wallet, created: false };
      if (wallet.debtFen > 0 || wallet.balanceFen < body.amountFen) {
        throw problems.conflict('insufficient-balance', `The balance (${wallet.balanceFen} fen) does not cover a deposit of ${body.amountFen} fen; top up first`);
      }
      const done = await bookEntry(tx, { memberId, reference, kind: 'deposit', amountFen: -body.amountFen, depositChangeFen: body.amountFen, description: 'Moved to the deposit', requestedBy: 'member' });
      return { wallet: done!.wallet, created: true };
    });
    if (moved.created) await context.members.changed(memberId);
    res.status(moved.created ? 201 : 200).json(moved.wallet);
  });

  mountLicence(app, context);
  mountWalletAdmin(app, context, config);
}
