import { z } from 'zod';
import type { Express } from 'express';
import { bumpSyncVersion, deductionSubject, problems, validate, withTransaction, type DeductionMessage } from '@evshare/kit';
import type { AppContext } from './service';
import { fen, uuid } from './wallet/schemas';

export const REVIEW_KINDS = ['charging', 'trip'] as const;
export const REVIEW_STATUSES = ['pending', 'approved', 'adjusted', 'waived'] as const;

export const reviewListQuery = z
  .object({
    status: z.enum(REVIEW_STATUSES, 'must be pending, approved, adjusted or waived').optional(),
    kind: z.enum(REVIEW_KINDS, 'must be charging or trip').optional(),
    memberId: uuid.optional(),
    device: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

export const reviewDecisionBody = (maxFen: number) =>
  z
    .discriminatedUnion(
      'decision',
      [
        z.object({ decision: z.literal('approve'), note: z.string().trim().max(500, 'must be at most 500 characters').optional() }).strict(),
        z.object({ decision: z.literal('adjust'), amountFen: fen(maxFen), note: z.string().trim().max(500, 'must be at most 500 characters').optional() }).strict(),
        z.object({ decision: z.literal('waive'), note: z.string().trim().max(500, 'must be at most 500 characters').optional() }).strict(),
      ],
      { error: 'must be approve, adjust or waive' },
    );

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const REVIEW_COLUMNS = `id, kind, reference, device, member_id AS "memberId", reported, bound, reasons, reported_fen::float8 AS "reportedFen",
  bounded_fen::float8 AS "boundedFen", status, decided_fen::float8 AS "decidedFen", decided_by AS "decidedBy", ${ISO('decided_at')} AS "decidedAt",
  note, ${ISO('created_at')} AS "createdAt"`;

interface Review {
  id: string;
  kind: (typeof REVIEW_KINDS)[number];
  reference: string;
  device: string;
  memberId: string | null;
  reportedFen: number;
  status: string;
}

/**
 * The operators' review queue of device-reported charges outside their bounds: charging sessions
 * a pile reported beyond its rating, meter or clock, and trips a car uploaded for a member not
 * allowed on it or beyond physics (docs/billing.md, "Device-reported charges"). A decision bills
 * through the deduction queue under the charge's own reference, with the operator as
 * `requestedBy`: a charge is billed once however often it is decided, published or redelivered.
 */
export function mountReviews(app: Express, context: AppContext): void {
  const { db, bus, cache, log, authenticate, requireAdmin } = context;
  const decisionBody = reviewDecisionBody(context.config.ADMIN_DEDUCTION_MAX_FEN);

  app.get('/api/v1/admin/reviews', authenticate, requireAdmin, async (req, res) => {
    const query = validate(reviewListQuery, req.query, 'query');
    const { rows } = await db.query(
      `SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR member_id = $3) AND ($4::text IS NULL OR device = $4)
        ORDER BY (status = 'pending') DESC, created_at DESC LIMIT $5`,
      [query.status ?? null, query.kind ?? null, query.memberId ?? null, query.device ?? null, query.limit],
    );
    res.json({ items: rows });
  });

  app.get('/api/v1/admin/reviews/:id', authenticate, requireAdmin, async (req, res) => {
    const id = validate(uuid, req.params.id, 'path.id');
    const { rows } = await db.query(`SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews WHERE id = $1`, [id]);
    if (!rows[0]) throw problems.notFound('No such review item');
    res.json(rows[0]);
  });

  app.post('/api/v1/admin/reviews/:id/decision', authenticate, requireAdmin, async (req, res) => {
    const id = validate(uuid, req.params.id, 'path.id');
    const body = validate(decisionBody, req.body, 'body');
    const operatorId = req.session!.memberId;
    const decided = await withTransaction(db, async (tx) => {
      const { rows } = await tx.query<Review>(`SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews WHERE id = $1 FOR UPDATE`, [id]);
      const item = rows[0];
      if (!item) throw problems.notFound('No such review item');
      if (item.status !== 'pending') throw problems.conflict('review-decided', `The item was already decided (${item.status})`);
      const amountFen = body.decision === 'approve' ? item.reportedFen : body.decision === 'adjust' ? body.amountFen : 0;
      const status = body.decision === 'approve' ? 'approved' : body.decision === 'adjust' ? 'adjusted' : 'waived';
      await tx.query(`UPDATE device_charge_reviews SET status = $2, decided_fen = $3, decided_by = $4, decided_at = now(), note = $5 WHERE id = $1`, [
        id,
        status,
        amountFen,
        operatorId,
        body.note ?? null,
      ]);
      let message: DeductionMessage | undefined;
      // A waiver is booked too (0 fen, the operator named): every decision about money is in the ledger.
      if (item.memberId) {
        message = {
          reference: item.reference,
          memberId: item.memberId,
          kind: item.kind === 'charging' ? 'charging' : 'rental',
          amountFen,
          description: `${item.kind === 'charging' ? 'Charging at pile' : 'Trip in car'} ${item.device}, reviewed (${status})`.slice(0, 500),
          requestedBy: `admin:${operatorId}`,
          at: new Date().toISOString(),
        };
        // In the same transaction as the decision: the APP's outbox sweep publishes it if we crash.
        await tx.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [message.reference, JSON.stringify(message)]);
      }
      const { rows: after } = await tx.query(`SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews WHERE id = $1`, [id]);
      return { item: after[0], message };
    });
    if (decided.message) {
      try {
        await bus.publishDurable(deductionSubject(decided.message.kind), decided.message, decided.message.reference);
        await db.query('UPDATE rental_deduction_outbox SET published_at = now() WHERE reference = $1', [decided.message.reference]);
      } catch (error) {
        log.warn({ err: error, reference: decided.message.reference }, 'review decision not published yet; the outbox sweep will retry');
      }
      await bumpSyncVersion(cache, decided.message.memberId);
    }
    res.json(decided.item);
  });
}
