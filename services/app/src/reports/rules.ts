/**
 * The rules of damage and cleanliness reports (docs/rental.md): when the renting member may report
 * and add photos, who answers for the damage, and the operators' task and charge changes. Pure:
 * the routes read the rows, ask here, and apply the answer.
 */

export type ReportPhase = 'start' | 'return';
export type TaskKind = 'repair' | 'cleaning';
export type TaskState = 'open' | 'done';

export interface ReportWindows {
  /** How long after the rental starts a report counts as found before driving off. */
  startWindowMs: number;
  /** How long after the rental ends the member may still report (and add photos) at the return. */
  returnWindowMs: number;
}

export interface RentalFacts {
  memberId: string;
  status: 'unlocking' | 'active' | 'ended' | 'failed';
  startedAt: Date;
  endedAt: Date | null;
}

export type Refusal = { ok: false; status: 404 | 409; slug: string; detail: string };
export type PhaseDecision = { ok: true; phase: ReportPhase } | Refusal;

const refuse = (status: 404 | 409, slug: string, detail: string): Refusal => ({ ok: false, status, slug, detail });

/**
 * Which phase a report made now belongs to, or why none may be made. Another member's rental is
 * indistinguishable from a missing one. While the rental is active past the start window the
 * report is the return's: the member reports what they bring back.
 */
export function reportPhase(rental: RentalFacts | undefined, memberId: string, now: Date, windows: ReportWindows): PhaseDecision {
  if (!rental || rental.memberId !== memberId) return refuse(404, 'not-found', 'No such rental');
  if (rental.status === 'unlocking' || rental.status === 'failed') return refuse(409, 'rental-not-started', 'The car has not been unlocked for this rental');
  if (rental.status === 'active') {
    return { ok: true, phase: now.getTime() - rental.startedAt.getTime() <= windows.startWindowMs ? 'start' : 'return' };
  }
  const endedAt = rental.endedAt ?? rental.startedAt;
  if (now.getTime() - endedAt.getTime() <= windows.returnWindowMs) return { ok: true, phase: 'return' };
  return refuse(409, 'report-window-closed', `Reports can be made up to ${Math.round(windows.returnWindowMs / 60_000)} minutes after the return`);
}

/**
 * Whether a photo may be added to a report: by its member, while its rental's reporting window is
 * still open (a start report's photos may follow for the rest of the rental), up to the limit.
 */
export function photoAllowed(
  report: { memberId: string },
  rental: RentalFacts,
  photoCount: number,
  memberId: string,
  now: Date,
  limits: ReportWindows & { maxPhotos: number },
): { ok: true } | Refusal {
  if (report.memberId !== memberId) return refuse(404, 'not-found', 'No such report');
  const phase = reportPhase(rental, memberId, now, limits);
  if (!phase.ok) return phase;
  if (photoCount >= limits.maxPhotos) return refuse(409, 'too-many-photos', `A report holds at most ${limits.maxPhotos} photos`);
  return { ok: true };
}

/**
 * Who answers for what a report shows: damage found before driving off was left by the car's
 * previous renter (none known: nobody), at the return by the member who brings it back.
 */
export function responsibleMember(phase: ReportPhase, reporterId: string, previousRenterId: string | null): string | null {
  return phase === 'start' ? previousRenterId : reporterId;
}

export type TaskAction = { action: 'open'; kind: TaskKind } | { action: 'close' };
export type TaskDecision = { ok: true; kind: TaskKind; state: TaskState } | Refusal;

/** A report's task: opened (again, after it was done), then closed; never two open at once. */
export function taskChange(current: { kind: TaskKind | null; state: TaskState | null }, change: TaskAction): TaskDecision {
  if (change.action === 'open') {
    if (current.state === 'open') return refuse(409, 'task-open', `A ${current.kind} task is already open on this report`);
    return { ok: true, kind: change.kind, state: 'open' };
  }
  if (current.state !== 'open' || !current.kind) return refuse(409, 'no-open-task', 'The report has no open task to close');
  return { ok: true, kind: current.kind, state: 'done' };
}

export interface RecordedCharge {
  memberId: string;
  amountFen: number;
}

export type ChargeDecision = { ok: true; repeat: boolean; memberId: string } | Refusal | { ok: false; status: 400; field: string; reason: string };

/**
 * A report is charged once. The same charge asked again is answered as it was (a retried request,
 * a double click); another amount or member after it is a conflict, not a second charge.
 */
export function chargeDecision(
  report: { responsibleMemberId: string | null; charge: RecordedCharge | null },
  request: { amountFen: number; memberId?: string },
): ChargeDecision {
  const memberId = request.memberId ?? report.responsibleMemberId;
  if (!memberId) return { ok: false, status: 400, field: 'body.memberId', reason: 'the report names nobody answerable; name the member to charge' };
  if (report.charge) {
    if (report.charge.memberId === memberId && report.charge.amountFen === request.amountFen) return { ok: true, repeat: true, memberId };
    return refuse(409, 'report-charged', `The report was already charged (${report.charge.amountFen} fen)`);
  }
  return { ok: true, repeat: false, memberId };
}

/** The ledger reference of a report's charge: billing applies one reference once. */
export const chargeReference = (reportId: string) => `damage-report:${reportId}`;
