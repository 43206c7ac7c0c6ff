import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Express } from 'express';
import { deductionSubject, problems, smsSubject, validate, type DeductionMessage, type SmsMessage } from '@evshare/kit';
import type { AppContext } from '../service';
import type { WalletConfig } from './config';
import { ledgerPage, walletOf } from './ledger';
import { fen, idempotencyKey, phone, uuid } from './schemas';

export const statusBody = z.object({ reason: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters') }).strict();
export const smsBody = z.object({ text: z.string().trim().min(1, 'is required').max(300, 'must be at most 300 characters') }).strict();
export const smsQuery = z
  .object({
    phone: phone.optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();
/** The operators' member list: pending licences first to review, or a search by phone, username or name. */
export const memberListQuery = z
  .object({
    licence: z.enum(['unverified', 'pending', 'approved', 'rejected'], 'must be unverified, pending, approved or rejected').optional(),
    status: z.enum(['active', 'suspended', 'deregistered'], 'must be active, suspended or deregistered').optional(),
    q: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

interface Target {
  id: string;
  role: 'member' | 'admin';
  status: string;
  phone: string | null;
  locale: 'zh-CN' | 'en';
}

/**
 * Operators' side of the wallet: read any member's wallet and ledger, suspend and reactivate,
 * post a manual deduction or refund and send an SMS. Deductions and SMS are written to the
 * message queue, like the APP services' own (the patent's web administrator side), never applied
 * here: the billing and SMS services are the only writers of their effects.
 */
export function mountWalletAdmin(app: Express, context: AppContext, config: WalletConfig): void {
  const { db, bus, authenticate, requireAdmin } = context;
  const deductionBody = z
    .object({
      kind: z.enum(['manual', 'refund', 'damage']),
      amountFen: fen(config.ADMIN_DEDUCTION_MAX_FEN),
      description: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters'),
      rentalId: uuid.optional(),
    })
    .strict();

  const target = async (raw: unknown): Promise<Target> => {
    const id = validate(uuid, raw, 'path.id');
    const { rows } = await db.query<Target>('SELECT id, role, status, phone, locale FROM members WHERE id = $1', [id]);
    if (!rows[0]) throw problems.notFound('No such member');
    return rows[0];
  };

  app.get('/api/v1/admin/members', authenticate, requireAdmin, async (req, res) => {
    const query = validate(memberListQuery, req.query, 'query');
    const { rows } = await db.query(
      `SELECT id, phone, username, display_name AS "displayName", role, status,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt",
              licence_status AS "licenceStatus", licence_number AS "licenceNumber", to_char(licence_expires_on, 'YYYY-MM-DD') AS "licenceExpiresOn",
              to_char(licence_submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "licenceSubmittedAt",
              wallet_balance_fen::float8 AS "balanceFen", deposit_fen::float8 AS "depositFen", debt_fen::float8 AS "debtFen"
         FROM members
        WHERE ($1::text IS NULL OR licence_status = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR phone = $3 OR username = lower($3) OR display_name ILIKE '%' || $3 || '%')
        ORDER BY licence_submitted_at ASC NULLS LAST, created_at DESC LIMIT $4`,
      [query.licence ?? null, query.status ?? null, query.q ?? null, query.limit],
    );
    res.json({ items: rows });
  });

  app.get('/api/v1/admin/members/:id/wallet', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    res.json(await walletOf(context, member.id));
  });

  app.get('/api/v1/admin/members/:id/ledger', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    res.json(await ledgerPage(context, member.id, req.query));
  });

  app.post('/api/v1/admin/members/:id/suspend', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    const body = validate(statusBody, req.body, 'body');
    if (member.id === req.session!.memberId) throw problems.conflict('own-account', 'Operators cannot suspend themselves');
    const { rowCount } = await db.query(`UPDATE members SET status = 'suspended', suspended_reason = $2, updated_at = now() WHERE id = $1 AND status = 'active'`, [member.id, body.reason]);
    if (!rowCount) throw problems.conflict('member-not-active', `The member is ${member.status}`);
    // Suspension ends every session at once, on every instance.
    await context.sessions.revokeMember(member.id, 'admin');
    await context.members.changed(member.id);
    res.json({ id: member.id, status: 'suspended' });
  });

  app.post('/api/v1/admin/members/:id/reactivate', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    validate(z.object({}).strict(), req.body ?? {}, 'body');
    const { rowCount } = await db.query(`UPDATE members SET status = 'active', suspended_reason = NULL, updated_at = now() WHERE id = $1 AND status = 'suspended'`, [member.id]);
    if (!rowCount) throw problems.conflict('member-not-suspended', `The member is ${member.status}`);
    await context.members.changed(member.id);
    res.json({ id: member.id, status: 'active' });
  });

  app.post('/api/v1/admin/members/:id/deductions', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    const body = validate(deductionBody, req.body, 'body');
    const header = req.headers['idempotency-key'];
    // With an Idempotency-Key a retried post cannot charge twice: the reference repeats.
    const key = header === undefined ? randomUUID() : validate(idempotencyKey, header, 'header.idempotency-key');
    const message: DeductionMessage = {
      reference: `admin:${req.session!.memberId}:${key}`,
      memberId: member.id,
      kind: body.kind,
      amountFen: body.amountFen,
      description: body.description,
      ...(body.rentalId ? { rentalId: body.rentalId } : {}),
      requestedBy: `admin:${req.session!.memberId}`,
      at: new Date().toISOString(),
    };
    const published = await bus.publishDurable(deductionSubject(body.kind), message, message.reference);
    res.status(202).json({ reference: message.reference, duplicate: published.duplicate });
  });

  app.post('/api/v1/admin/members/:id/sms', authenticate, requireAdmin, async (req, res) => {
    const member = await target(req.params.id);
    const body = validate(smsBody, req.body, 'body');
    if (!member.phone) throw problems.conflict('no-phone', 'The member has no phone number');
    const message: SmsMessage = {
      reference: `admin-sms:${randomUUID()}`,
      phone: member.phone,
      template: 'operator-notice',
      locale: member.locale,
      params: { text: body.text },
      memberId: member.id,
      at: new Date().toISOString(),
    };
    await bus.publishDurable(smsSubject('operator-notice'), message, message.reference);
    res.status(202).json({ reference: message.reference });
  });

  // The SMS log: the development provider's outbox, and the delivery record of a real gateway.
  app.get('/api/v1/admin/sms', authenticate, requireAdmin, async (req, res) => {
    const query = validate(smsQuery, req.query, 'query');
    const { rows } = await db.query(
      `SELECT reference, member_id AS "memberId", phone, template, locale, body, status, attempts, provider, provider_id AS "providerId",
              last_error AS "lastError", to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
              to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "sentAt"
         FROM sms_log WHERE ($1::text IS NULL OR phone = $1) ORDER BY id DESC LIMIT $2`,
      [query.phone ?? null, query.limit],
    );
    res.json({ items: rows });
  });
}
