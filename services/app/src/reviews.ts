import { bumpSyncVersion, deductionSubject, problems, route, withTransaction, type DeductionMessage } from '@evshare/kit';
import { reviewOperations, type REVIEW_KINDS } from '@evshare/api';
import { apiLimits } from './config';
import type { AppContext, DomainMount } from './context';

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
export function mountReviews(context: AppContext): DomainMount {
  const { db, bus, cache, log } = context;
  const ops = reviewOperations(apiLimits(context.config));

  return {
    routes: [
      route(ops.reviews, async ({ query }, _req, res) => {
        const { rows } = await db.query(
          `SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR member_id = $3) AND ($4::text IS NULL OR device = $4)
            ORDER BY (status = 'pending') DESC, created_at DESC LIMIT $5`,
          [query.status ?? null, query.kind ?? null, query.memberId ?? null, query.device ?? null, query.limit],
        );
        res.json({ items: rows });
      }),

      route(ops.review, async ({ params: { id } }, _req, res) => {
        const { rows } = await db.query(`SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews WHERE id = $1`, [id]);
        if (!rows[0]) throw problems.notFound('No such review item');
        res.json(rows[0]);
      }),

      route(ops.decide, async ({ params: { id }, body, session }, _req, res) => {
        const operatorId = session.memberId;
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
            await tx.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [
              message.reference,
              JSON.stringify(message),
            ]);
          }
          const { rows: after } = await tx.query<Review>(`SELECT ${REVIEW_COLUMNS} FROM device_charge_reviews WHERE id = $1`, [id]);
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
      }),
    ],
  };
}
