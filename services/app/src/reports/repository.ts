import type { AdminDamageReport, DamageReport, ReportPhoto } from '@evshare/api';
import type { Pool, PoolClient } from '@evshare/kit';
import type { RentalFacts, ReportPhase, TaskKind, TaskState } from './rules';

type Queryable = Pool | PoolClient;

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const REPORT_COLUMNS = `r.id, r.rental_id AS "rentalId", r.member_id AS "memberId", r.vehicle_id AS "vehicleId", r.phase, r.kind, r.note, r.location,
  ${ISO('r.created_at')} AS "createdAt"`;
const ADMIN_COLUMNS = `${REPORT_COLUMNS}, v.plate, v.state AS "vehicleState", r.responsible_member_id AS "responsibleMemberId",
  r.task_kind AS "taskKind", r.task_state AS "taskState", r.task_note AS "taskNote", r.task_updated_by AS "taskUpdatedBy", ${ISO('r.task_updated_at')} AS "taskUpdatedAt",
  r.charge_reference AS "chargeReference", r.charged_member_id AS "chargedMemberId", r.charged_fen::float8 AS "chargedFen", r.charge_note AS "chargeNote",
  r.charged_by AS "chargedBy", ${ISO('r.charged_at')} AS "chargedAt"`;

type ReportRow = Omit<DamageReport, 'photos'>;
interface AdminRow extends ReportRow {
  plate: string;
  vehicleState: string;
  responsibleMemberId: string | null;
  taskKind: TaskKind | null;
  taskState: TaskState | null;
  taskNote: string | null;
  taskUpdatedBy: string | null;
  taskUpdatedAt: string | null;
  chargeReference: string | null;
  chargedMemberId: string | null;
  chargedFen: number | null;
  chargeNote: string | null;
  chargedBy: string | null;
  chargedAt: string | null;
}

export const photoUrl = (reportId: string, photoId: string) => `/api/v1/reports/${reportId}/photos/${photoId}`;
export const photoKey = (reportId: string, photoId: string) => `reports/${reportId}/${photoId}`;

/** The rental facts the report rules need, with its car. */
export async function rentalFacts(db: Queryable, rentalId: string): Promise<(RentalFacts & { vehicleId: string }) | undefined> {
  const { rows } = await db.query<RentalFacts & { vehicleId: string }>(
    `SELECT member_id AS "memberId", vehicle_id AS "vehicleId", status, started_at AS "startedAt", ended_at AS "endedAt" FROM rentals WHERE id = $1`,
    [rentalId],
  );
  return rows[0];
}

/** The member of the car's last rental that ended before this one started: who left the car as found. */
export async function previousRenter(db: Queryable, vehicleId: string, rentalId: string): Promise<string | null> {
  const { rows } = await db.query<{ memberId: string }>(
    `SELECT p.member_id AS "memberId" FROM rentals p JOIN rentals r ON r.id = $2
      WHERE p.vehicle_id = $1 AND p.id <> r.id AND p.status = 'ended' AND p.ended_at <= r.started_at
      ORDER BY p.ended_at DESC LIMIT 1`,
    [vehicleId, rentalId],
  );
  return rows[0]?.memberId ?? null;
}

export async function insertReport(
  db: Queryable,
  report: {
    rentalId: string;
    memberId: string;
    vehicleId: string;
    phase: ReportPhase;
    kind: string;
    note: string;
    location: string | null;
    responsibleMemberId: string | null;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO damage_reports (rental_id, member_id, vehicle_id, phase, kind, note, location, responsible_member_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [report.rentalId, report.memberId, report.vehicleId, report.phase, report.kind, report.note, report.location, report.responsibleMemberId],
  );
  return rows[0]!.id;
}

async function photosOf(db: Queryable, reportIds: string[]): Promise<Map<string, ReportPhoto[]>> {
  const { rows } = await db.query<ReportPhoto & { reportId: string }>(
    `SELECT id, report_id AS "reportId", content_type AS "contentType", size_bytes AS "sizeBytes", ${ISO('created_at')} AS "createdAt"
       FROM damage_report_photos WHERE report_id = ANY($1::uuid[]) ORDER BY created_at, id`,
    [reportIds],
  );
  const out = new Map<string, ReportPhoto[]>();
  for (const { reportId, ...photo } of rows) {
    const list = out.get(reportId) ?? [];
    list.push({ ...photo, url: photoUrl(reportId, photo.id) });
    out.set(reportId, list);
  }
  return out;
}

const withPhotos = async <R extends { id: string }>(db: Queryable, rows: R[]): Promise<Array<R & { photos: ReportPhoto[] }>> => {
  const photos = await photosOf(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({ ...row, photos: photos.get(row.id) ?? [] }));
};

/** A member's reports (one rental's, or all), newest first. */
export async function memberReports(db: Queryable, memberId: string, rentalId?: string): Promise<DamageReport[]> {
  const { rows } = await db.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM damage_reports r WHERE r.member_id = $1 AND ($2::uuid IS NULL OR r.rental_id = $2) ORDER BY r.created_at DESC LIMIT 200`,
    [memberId, rentalId ?? null],
  );
  return withPhotos(db, rows);
}

/** A report as its member sees it (the member is checked by the caller). */
export async function report(db: Queryable, id: string, lock = false): Promise<DamageReport | undefined> {
  const { rows } = await db.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM damage_reports r WHERE r.id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && (await withPhotos(db, rows))[0];
}

const adminView = ({
  taskKind,
  taskState,
  taskNote,
  taskUpdatedBy,
  taskUpdatedAt,
  chargeReference,
  chargedMemberId,
  chargedFen,
  chargeNote,
  chargedBy,
  chargedAt,
  ...rest
}: AdminRow & { photos: ReportPhoto[] }): AdminDamageReport => ({
  ...rest,
  task: taskKind && taskState ? { kind: taskKind, state: taskState, note: taskNote, updatedBy: taskUpdatedBy, updatedAt: taskUpdatedAt! } : null,
  charge:
    chargeReference && chargedMemberId && chargedFen !== null && chargedBy && chargedAt
      ? { reference: chargeReference, memberId: chargedMemberId, amountFen: chargedFen, note: chargeNote ?? '', chargedBy, chargedAt }
      : null,
});

export async function adminReports(
  db: Queryable,
  query: {
    task?: 'open' | 'done' | 'none' | undefined;
    kind?: string | undefined;
    vehicleId?: string | undefined;
    memberId?: string | undefined;
    limit: number;
  },
): Promise<AdminDamageReport[]> {
  const { rows } = await db.query<AdminRow>(
    `SELECT ${ADMIN_COLUMNS} FROM damage_reports r JOIN vehicles v ON v.id = r.vehicle_id
      WHERE ($1::text IS NULL OR coalesce(r.task_state, 'none') = $1) AND ($2::text IS NULL OR r.kind = $2)
        AND ($3::uuid IS NULL OR r.vehicle_id = $3) AND ($4::uuid IS NULL OR r.member_id = $4 OR r.responsible_member_id = $4)
      ORDER BY coalesce(r.task_state = 'open', false) DESC, r.created_at DESC LIMIT $5`,
    [query.task ?? null, query.kind ?? null, query.vehicleId ?? null, query.memberId ?? null, query.limit],
  );
  return (await withPhotos(db, rows)).map(adminView);
}

export async function adminReport(db: Queryable, id: string, lock = false): Promise<AdminDamageReport | undefined> {
  const { rows } = await db.query<AdminRow>(
    `SELECT ${ADMIN_COLUMNS} FROM damage_reports r JOIN vehicles v ON v.id = r.vehicle_id WHERE r.id = $1${lock ? ' FOR UPDATE OF r' : ''}`,
    [id],
  );
  return rows[0] && (await withPhotos(db, rows)).map(adminView)[0];
}

export async function insertPhoto(
  db: Queryable,
  photo: { id: string; reportId: string; key: string; contentType: string; sizeBytes: number },
): Promise<ReportPhoto> {
  const { rows } = await db.query<ReportPhoto>(
    `INSERT INTO damage_report_photos (id, report_id, blob_key, content_type, size_bytes) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, content_type AS "contentType", size_bytes AS "sizeBytes", ${ISO('created_at')} AS "createdAt"`,
    [photo.id, photo.reportId, photo.key, photo.contentType, photo.sizeBytes],
  );
  return { ...rows[0]!, url: photoUrl(photo.reportId, photo.id) };
}

export async function photoBlobKey(db: Queryable, reportId: string, photoId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ key: string }>('SELECT blob_key AS key FROM damage_report_photos WHERE report_id = $1 AND id = $2', [reportId, photoId]);
  return rows[0]?.key;
}

export async function setTask(db: Queryable, id: string, task: { kind: TaskKind; state: TaskState; note: string | null; by: string }): Promise<void> {
  await db.query('UPDATE damage_reports SET task_kind = $2, task_state = $3, task_note = $4, task_updated_by = $5, task_updated_at = now() WHERE id = $1', [
    id,
    task.kind,
    task.state,
    task.note,
    task.by,
  ]);
}

export async function setCharge(
  db: Queryable,
  id: string,
  charge: { reference: string; memberId: string; amountFen: number; note: string; by: string },
): Promise<void> {
  await db.query(
    `UPDATE damage_reports SET charge_reference = $2, charged_member_id = $3, charged_fen = $4, charge_note = $5, charged_by = $6, charged_at = now() WHERE id = $1`,
    [id, charge.reference, charge.memberId, charge.amountFen, charge.note, charge.by],
  );
}
