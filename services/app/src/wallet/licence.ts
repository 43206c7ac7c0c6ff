import { problems, route, type Route } from '@evshare/kit';
import { walletAdminOperations, walletOperations, type ApiLimits } from '@evshare/api';
import type { AppContext } from '../context';
import { notifyMember } from '../notifications';

export interface LicenceView {
  status: 'unverified' | 'pending' | 'approved' | 'rejected';
  number: string | null;
  expiresOn: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
  rejectReason: string | null;
}

const LICENCE_COLUMNS = `licence_status AS status, licence_number AS number, to_char(licence_expires_on, 'YYYY-MM-DD') AS "expiresOn",
  to_char(licence_submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "submittedAt",
  to_char(licence_reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "reviewedAt", licence_reject_reason AS "rejectReason"`;

/** Driving-licence verification: the member submits, an operator approves or rejects. */
export function licenceRoutes(context: AppContext, limits: ApiLimits): Route[] {
  const { db } = context;
  const ops = walletOperations(limits);

  return [
    route(ops.licence, async ({ session }, _req, res) => {
      const { rows } = await db.query<LicenceView>(`SELECT ${LICENCE_COLUMNS} FROM members WHERE id = $1`, [session.memberId]);
      if (!rows[0]) throw problems.notFound('No such member');
      res.json(rows[0]);
    }),

    route(ops.submitLicence, async ({ session, body }, _req, res) => {
      const { rows } = await db.query<LicenceView>(
        `UPDATE members SET licence_number = $2, licence_expires_on = $3, licence_status = 'pending', licence_submitted_at = now(),
                licence_reviewed_at = NULL, licence_reviewed_by = NULL, licence_reject_reason = NULL, updated_at = now()
          WHERE id = $1 RETURNING ${LICENCE_COLUMNS}`,
        [session.memberId, body.number, body.expiresOn],
      );
      if (!rows[0]) throw problems.notFound('No such member');
      await context.members.changed(session.memberId);
      res.json(rows[0]);
    }),

    route(walletAdminOperations(limits).decideLicence, async ({ session, params: { id: memberId }, body }, _req, res) => {
      const status = body.decision === 'approve' ? 'approved' : 'rejected';
      const { rows } = await db.query<LicenceView>(
        `UPDATE members SET licence_status = $2, licence_reviewed_by = $3, licence_reviewed_at = now(), licence_reject_reason = $4, updated_at = now()
          WHERE id = $1 AND licence_status = 'pending' RETURNING ${LICENCE_COLUMNS}`,
        [memberId, status, session.memberId, body.decision === 'reject' ? body.reason : null],
      );
      if (!rows[0]) {
        const exists = await db.query<{ status: string }>('SELECT licence_status AS status FROM members WHERE id = $1', [memberId]);
        if (!exists.rows[0]) throw problems.notFound('No such member');
        throw problems.conflict('licence-not-pending', `There is no licence waiting for review (status ${exists.rows[0].status})`);
      }
      await notifyMember(context, memberId, {
        kind: 'licence',
        title: status === 'approved' ? 'Driving licence approved' : 'Driving licence rejected',
        body: { status, ...(rows[0].rejectReason ? { reason: rows[0].rejectReason } : {}) },
      });
      await context.members.changed(memberId);
      res.json(rows[0]);
    }),
  ];
}
