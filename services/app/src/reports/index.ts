import { randomUUID } from 'node:crypto';
import { Problem, bumpSyncVersion, deductionSubject, problems, route, withTransaction, type DeductionMessage } from '@evshare/kit';
import { reportOperations } from '@evshare/api';
import { blobStoreFromConfig } from '../blob';
import { apiLimits } from '../config';
import type { AppContext, DomainMount } from '../context';
import { mediaTypeOf, sniffPhotoType } from './photo-type';
import * as repo from './repository';
import { chargeDecision, chargeReference, photoAllowed, reportPhase, responsibleMember, taskChange, type Refusal } from './rules';

const refusal = (refused: Refusal): Problem => (refused.status === 404 ? problems.notFound(refused.detail) : problems.conflict(refused.slug, refused.detail));

const notAnImage = (reason: string, name = 'body') =>
  new Problem(415, 'unsupported-media-type', 'Unsupported media type', `The photo ${reason}`, { invalidParams: [{ name, reason }] });

/**
 * Damage and cleanliness reports (docs/rental.md): the renting member reports, with photos, at the
 * start of a rental or at its return; operators see them, open a repair or cleaning task, and
 * charge the responsible member once through the deduction queue under the report's reference.
 * Photos go to the blob store (PostgreSQL, or S3 when configured), checked by their bytes.
 */
export function mountReports(context: AppContext): DomainMount {
  const { db, bus, cache, log, config } = context;
  const ops = reportOperations(apiLimits(config));
  const blobs = blobStoreFromConfig(config, db);
  const windows = { startWindowMs: config.REPORT_START_WINDOW_MS, returnWindowMs: config.REPORT_RETURN_WINDOW_MS };

  /** The member's own report; another member's is indistinguishable from a missing one. */
  const ownReport = async (id: string, memberId: string) => {
    const found = await repo.report(db, id);
    if (!found || found.memberId !== memberId) throw problems.notFound('No such report');
    return found;
  };
  const adminReport = async (id: string) => {
    const found = await repo.adminReport(db, id);
    if (!found) throw problems.notFound('No such report');
    return found;
  };

  return {
    routes: [
      route(ops.create, async ({ body, session }, _req, res) => {
        const memberId = session.memberId;
        const id = await withTransaction(db, async (tx) => {
          const rental = await repo.rentalFacts(tx, body.rentalId);
          const phase = reportPhase(rental, memberId, new Date(), windows);
          if (!phase.ok) throw refusal(phase);
          const previous = phase.phase === 'start' ? await repo.previousRenter(tx, rental!.vehicleId, body.rentalId) : null;
          return repo.insertReport(tx, {
            rentalId: body.rentalId,
            memberId,
            vehicleId: rental!.vehicleId,
            phase: phase.phase,
            kind: body.kind,
            note: body.note,
            location: body.location ?? null,
            responsibleMemberId: responsibleMember(phase.phase, memberId, previous),
          });
        });
        res
          .status(201)
          .location(`/api/v1/reports/${id}`)
          .json(await repo.report(db, id));
      }),

      route(ops.list, async ({ query, session }, _req, res) => {
        res.json({ items: await repo.memberReports(db, session.memberId, query.rentalId) });
      }),

      route(ops.get, async ({ params, session }, _req, res) => {
        res.json(await ownReport(params.id, session.memberId));
      }),

      route(ops.addPhoto, async ({ params, body, session }, req, res) => {
        const memberId = session.memberId;
        const found = await ownReport(params.id, memberId);
        const rental = (await repo.rentalFacts(db, found.rentalId))!;
        const limits = { ...windows, maxPhotos: config.REPORT_MAX_PHOTOS };
        const allowed = photoAllowed(found, rental, found.photos.length, memberId, new Date(), limits);
        if (!allowed.ok) throw refusal(allowed);
        const sniffed = sniffPhotoType(body);
        if (!sniffed) throw notAnImage('is not a JPEG, PNG or WebP image');
        const declared = mediaTypeOf(req.headers['content-type']);
        if (declared !== sniffed) throw notAnImage(`is ${sniffed}, not ${declared} as declared`, 'header.content-type');

        const photoId = randomUUID();
        const key = repo.photoKey(found.id, photoId);
        await blobs.put(key, { contentType: sniffed, data: body });
        try {
          const photo = await withTransaction(db, async (tx) => {
            // Counted again under the report's lock: concurrent uploads cannot pass the limit together.
            const locked = (await repo.report(tx, found.id, true))!;
            const again = photoAllowed(locked, rental, locked.photos.length, memberId, new Date(), limits);
            if (!again.ok) throw refusal(again);
            return repo.insertPhoto(tx, { id: photoId, reportId: found.id, key, contentType: sniffed, sizeBytes: body.length });
          });
          res.status(201).location(photo.url).json(photo);
        } catch (error) {
          await blobs.delete(key).catch((err: unknown) => log.warn({ err, key }, 'refused photo left in the blob store'));
          throw error;
        }
      }),

      route(ops.photo, async ({ params, session }, _req, res) => {
        const found = await repo.report(db, params.id);
        // Operators see every report's photos; a member only their own.
        if (!found || (session.role !== 'admin' && found.memberId !== session.memberId)) throw problems.notFound('No such report');
        const key = await repo.photoBlobKey(db, found.id, params.photoId);
        const blob = key && (await blobs.get(key));
        if (!blob) throw problems.notFound('No such photo');
        res.status(200).type(blob.contentType).setHeader('Cache-Control', 'private, max-age=3600');
        res.send(blob.data);
      }),

      route(ops.adminList, async ({ query }, _req, res) => {
        res.json({ items: await repo.adminReports(db, query) });
      }),

      route(ops.adminGet, async ({ params }, _req, res) => {
        res.json(await adminReport(params.id));
      }),

      route(ops.task, async ({ params, body, session }, _req, res) => {
        await withTransaction(db, async (tx) => {
          const found = await repo.adminReport(tx, params.id, true);
          if (!found) throw problems.notFound('No such report');
          const change = taskChange({ kind: found.task?.kind ?? null, state: found.task?.state ?? null }, body);
          if (!change.ok) throw refusal(change);
          await repo.setTask(tx, found.id, { kind: change.kind, state: change.state, note: body.note ?? null, by: session.memberId });
        });
        res.json(await adminReport(params.id));
      }),

      route(ops.charge, async ({ params, body, session }, _req, res) => {
        const operatorId = session.memberId;
        const charged = await withTransaction(db, async (tx) => {
          const found = await repo.adminReport(tx, params.id, true);
          if (!found) throw problems.notFound('No such report');
          const decision = chargeDecision(
            { responsibleMemberId: found.responsibleMemberId, charge: found.charge && { memberId: found.charge.memberId, amountFen: found.charge.amountFen } },
            body,
          );
          if (!decision.ok) throw 'field' in decision ? problems.validation([{ name: decision.field, reason: decision.reason }]) : refusal(decision);
          const reference = chargeReference(found.id);
          if (decision.repeat) return { reference, memberId: decision.memberId, amountFen: found.charge!.amountFen, message: undefined };
          const { rowCount } = await tx.query('SELECT 1 FROM members WHERE id = $1', [decision.memberId]);
          if (!rowCount) throw problems.notFound('No such member');
          await repo.setCharge(tx, found.id, { reference, memberId: decision.memberId, amountFen: body.amountFen, note: body.note, by: operatorId });
          const photos = found.photos.length;
          const message: DeductionMessage = {
            reference,
            memberId: decision.memberId,
            kind: 'damage',
            amountFen: body.amountFen,
            // The evidence travels with the charge: the report (its photos are under it) and the operator's note.
            description:
              `${found.kind === 'dirt' ? 'Cleaning' : 'Damage'} report ${found.id} (car ${found.plate}, ${photos} photo${photos === 1 ? '' : 's'}): ${body.note}`.slice(
                0,
                500,
              ),
            requestedBy: `admin:${operatorId}`,
            at: new Date().toISOString(),
          };
          // In the same transaction as the charge: the APP's outbox sweep publishes it if we crash.
          await tx.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [
            reference,
            JSON.stringify(message),
          ]);
          return { reference, memberId: decision.memberId, amountFen: body.amountFen, message };
        });
        if (charged.message) {
          try {
            await bus.publishDurable(deductionSubject('damage'), charged.message, charged.reference);
            await db.query('UPDATE rental_deduction_outbox SET published_at = now() WHERE reference = $1', [charged.reference]);
          } catch (error) {
            log.warn({ err: error, reference: charged.reference }, 'report charge not published yet; the outbox sweep will retry');
          }
          await bumpSyncVersion(cache, charged.memberId);
        }
        res.status(charged.message ? 202 : 200).json({
          reportId: params.id,
          reference: charged.reference,
          memberId: charged.memberId,
          amountFen: charged.amountFen,
          repeat: !charged.message,
        });
      }),
    ],
  };
}
