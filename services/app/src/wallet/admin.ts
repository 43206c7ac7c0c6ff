import { randomUUID } from 'node:crypto';
import { deductionSubject, problems, route, smsSubject, type DeductionMessage, type Route, type SmsMessage } from '@evshare/kit';
import { walletAdminOperations, type ApiLimits } from '@evshare/api';
import type { AppContext } from '../context';
import { ledgerPage, walletOf } from './ledger';

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
export function walletAdminRoutes(context: AppContext, limits: ApiLimits): Route[] {
  const { db, bus } = context;
  const ops = walletAdminOperations(limits);

  const target = async (id: string): Promise<Target> => {
    const { rows } = await db.query<Target>('SELECT id, role, status, phone, locale FROM members WHERE id = $1', [id]);
    if (!rows[0]) throw problems.notFound('No such member');
    return rows[0];
  };

  return [
    route(ops.members, async ({ query }, _req, res) => {
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
    }),

    route(ops.memberWallet, async ({ params }, _req, res) => {
      const member = await target(params.id);
      res.json(await walletOf(context, member.id));
    }),

    route(ops.memberLedger, async ({ params, query }, _req, res) => {
      const member = await target(params.id);
      res.json(await ledgerPage(context, member.id, query));
    }),

    route(ops.suspend, async ({ params, body, session }, _req, res) => {
      const member = await target(params.id);
      if (member.id === session.memberId) throw problems.conflict('own-account', 'Operators cannot suspend themselves');
      const { rowCount } = await db.query(
        `UPDATE members SET status = 'suspended', suspended_reason = $2, updated_at = now() WHERE id = $1 AND status = 'active'`,
        [member.id, body.reason],
      );
      if (!rowCount) throw problems.conflict('member-not-active', `The member is ${member.status}`);
      // Suspension ends every session at once, on every instance.
      await context.sessions.revokeMember(member.id, 'admin');
      await context.members.changed(member.id);
      res.json({ id: member.id, status: 'suspended' });
    }),

    route(ops.reactivate, async ({ params }, _req, res) => {
      const member = await target(params.id);
      const { rowCount } = await db.query(
        `UPDATE members SET status = 'active', suspended_reason = NULL, updated_at = now() WHERE id = $1 AND status = 'suspended'`,
        [member.id],
      );
      if (!rowCount) throw problems.conflict('member-not-suspended', `The member is ${member.status}`);
      await context.members.changed(member.id);
      res.json({ id: member.id, status: 'active' });
    }),

    route(ops.deduct, async ({ params, body, headers, session }, _req, res) => {
      const member = await target(params.id);
      // With an Idempotency-Key a retried post cannot charge twice: the reference repeats.
      const key = headers['Idempotency-Key'] ?? randomUUID();
      const message: DeductionMessage = {
        reference: `admin:${session.memberId}:${key}`,
        memberId: member.id,
        kind: body.kind,
        amountFen: body.amountFen,
        description: body.description,
        ...(body.rentalId ? { rentalId: body.rentalId } : {}),
        requestedBy: `admin:${session.memberId}`,
        at: new Date().toISOString(),
      };
      const published = await bus.publishDurable(deductionSubject(body.kind), message, message.reference);
      res.status(202).json({ reference: message.reference, duplicate: published.duplicate });
    }),

    route(ops.sms, async ({ params, body }, _req, res) => {
      const member = await target(params.id);
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
    }),

    // The SMS log: the development provider's outbox, and the delivery record of a real gateway.
    route(ops.smsLog, async ({ query }, _req, res) => {
      const { rows } = await db.query(
        `SELECT reference, member_id AS "memberId", phone, template, locale, body, status, attempts, provider, provider_id AS "providerId",
                last_error AS "lastError", to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
                to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "sentAt"
           FROM sms_log WHERE ($1::text IS NULL OR phone = $1) ORDER BY id DESC LIMIT $2`,
        [query.phone ?? null, query.limit],
      );
      res.json({ items: rows });
    }),
  ];
}
