import { z } from 'zod';
import type { Express } from 'express';
import { problems, validate } from '@evshare/kit';
import type { AppContext } from '../service';
import { notifyMember } from '../notifications';
import { uuid } from './schemas';

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

const today = () => new Date().toISOString().slice(0, 10);
const isCalendarDate = (value: string) => {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
};

export const licenceBody = z
  .object({
    // Chinese licences carry the 18-character identity number; foreign ones differ, hence the range.
    number: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z0-9]{6,20}$/, 'must be 6 to 20 letters or digits'),
    expiresOn: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2030-12-31')
      .refine(isCalendarDate, 'is not a calendar date')
      .refine((d) => d > today(), 'must be in the future'),
  })
  .strict();

export const decisionBody = z
  .object({
    decision: z.enum(['approve', 'reject']),
    reason: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters').optional(),
  })
  .strict()
  .refine((b) => b.decision === 'approve' || b.reason !== undefined, { message: 'is required when rejecting', path: ['reason'] });

/** Driving-licence verification: the member submits, an operator approves or rejects. */
export function mountLicence(app: Express, context: AppContext): void {
  const { db, authenticate, requireAdmin } = context;

  app.get('/api/v1/me/licence', authenticate, async (req, res) => {
    const { rows } = await db.query<LicenceView>(`SELECT ${LICENCE_COLUMNS} FROM members WHERE id = $1`, [req.session!.memberId]);
    if (!rows[0]) throw problems.notFound('No such member');
    res.json(rows[0]);
  });

  app.put('/api/v1/me/licence', authenticate, async (req, res) => {
    const body = validate(licenceBody, req.body, 'body');
    const { rows } = await db.query<LicenceView>(
      `UPDATE members SET licence_number = $2, licence_expires_on = $3, licence_status = 'pending', licence_submitted_at = now(),
              licence_reviewed_at = NULL, licence_reviewed_by = NULL, licence_reject_reason = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${LICENCE_COLUMNS}`,
      [req.session!.memberId, body.number, body.expiresOn],
    );
    if (!rows[0]) throw problems.notFound('No such member');
    await context.members.changed(req.session!.memberId);
    res.json(rows[0]);
  });

  app.post('/api/v1/admin/members/:id/licence', authenticate, requireAdmin, async (req, res) => {
    const memberId = validate(uuid, req.params.id, 'path.id');
    const body = validate(decisionBody, req.body, 'body');
    const status = body.decision === 'approve' ? 'approved' : 'rejected';
    const { rows } = await db.query<LicenceView>(
      `UPDATE members SET licence_status = $2, licence_reviewed_by = $3, licence_reviewed_at = now(), licence_reject_reason = $4, updated_at = now()
        WHERE id = $1 AND licence_status = 'pending' RETURNING ${LICENCE_COLUMNS}`,
      [memberId, status, req.session!.memberId, body.decision === 'reject' ? body.reason : null],
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
  });
}
