import { chargeDecision, chargeReference, photoAllowed, reportPhase, responsibleMember, taskChange, type RentalFacts } from './rules';

const WINDOWS = { startWindowMs: 10 * 60_000, returnWindowMs: 30 * 60_000 };
const MEMBER = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const T0 = new Date('2026-01-01T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const rental = (status: RentalFacts['status'], endedAfterMin?: number): RentalFacts => ({
  memberId: MEMBER,
  status,
  startedAt: T0,
  endedAt: endedAfterMin === undefined ? null : at(endedAfterMin),
});

describe('reportPhase', () => {
  it.each<[string, RentalFacts | undefined, string, number, unknown]>([
    ['just unlocked', rental('active'), MEMBER, 1, { ok: true, phase: 'start' }],
    ['at the end of the start window', rental('active'), MEMBER, 10, { ok: true, phase: 'start' }],
    ['after the start window, still driving', rental('active'), MEMBER, 11, { ok: true, phase: 'return' }],
    ['just returned', rental('ended', 40), MEMBER, 41, { ok: true, phase: 'return' }],
    ['at the end of the return window', rental('ended', 40), MEMBER, 70, { ok: true, phase: 'return' }],
    ['after the return window', rental('ended', 40), MEMBER, 71, { ok: false, status: 409, slug: 'report-window-closed' }],
    ['a rental still unlocking', rental('unlocking'), MEMBER, 0, { ok: false, status: 409, slug: 'rental-not-started' }],
    ['a failed unlock', rental('failed'), MEMBER, 0, { ok: false, status: 409, slug: 'rental-not-started' }],
    ["another member's rental", rental('active'), OTHER, 1, { ok: false, status: 404, slug: 'not-found' }],
    ['no rental', undefined, MEMBER, 1, { ok: false, status: 404, slug: 'not-found' }],
  ])('%s', (_name, facts, member, minute, expected) => {
    expect(reportPhase(facts, member, at(minute), WINDOWS)).toMatchObject(expected as object);
  });
});

describe('photoAllowed', () => {
  const limits = { ...WINDOWS, maxPhotos: 3 };
  it.each<[string, string, RentalFacts, number, number, unknown]>([
    ['the first photo', MEMBER, rental('active'), 0, 1, { ok: true }],
    ['the last photo allowed', MEMBER, rental('active'), 2, 1, { ok: true }],
    ['one too many', MEMBER, rental('active'), 3, 1, { ok: false, status: 409, slug: 'too-many-photos' }],
    ["to another member's report", OTHER, rental('active'), 0, 1, { ok: false, status: 404 }],
    ['after the return window', MEMBER, rental('ended', 5), 0, 40, { ok: false, status: 409, slug: 'report-window-closed' }],
  ])('%s', (_name, member, facts, count, minute, expected) => {
    expect(photoAllowed({ memberId: MEMBER }, facts, count, member, at(minute), limits)).toMatchObject(expected as object);
  });
});

describe('responsibleMember', () => {
  it.each([
    ['start', OTHER, OTHER],
    ['start', null, null],
    ['return', OTHER, MEMBER],
    ['return', null, MEMBER],
  ] as const)('%s with previous renter %s → %s', (phase, previous, expected) => {
    expect(responsibleMember(phase, MEMBER, previous)).toBe(expected);
  });
});

describe('taskChange', () => {
  it.each([
    ['open on a report without a task', { kind: null, state: null }, { action: 'open', kind: 'repair' }, { ok: true, kind: 'repair', state: 'open' }],
    ['open again after it was done', { kind: 'repair', state: 'done' }, { action: 'open', kind: 'cleaning' }, { ok: true, kind: 'cleaning', state: 'open' }],
    ['open while one is open', { kind: 'repair', state: 'open' }, { action: 'open', kind: 'cleaning' }, { ok: false, status: 409, slug: 'task-open' }],
    ['close the open task', { kind: 'cleaning', state: 'open' }, { action: 'close' }, { ok: true, kind: 'cleaning', state: 'done' }],
    ['close a done task', { kind: 'cleaning', state: 'done' }, { action: 'close' }, { ok: false, status: 409, slug: 'no-open-task' }],
    ['close without a task', { kind: null, state: null }, { action: 'close' }, { ok: false, status: 409, slug: 'no-open-task' }],
  ] as const)('%s', (_name, current, change, expected) => {
    expect(taskChange(current, change)).toEqual(expect.objectContaining(expected));
  });
});

describe('chargeDecision', () => {
  it.each([
    ['the responsible member, first time', { responsibleMemberId: MEMBER, charge: null }, { amountFen: 500 }, { ok: true, repeat: false, memberId: MEMBER }],
    ['a named member', { responsibleMemberId: MEMBER, charge: null }, { amountFen: 500, memberId: OTHER }, { ok: true, repeat: false, memberId: OTHER }],
    ['nobody answerable and nobody named', { responsibleMemberId: null, charge: null }, { amountFen: 500 }, { ok: false, status: 400, field: 'body.memberId' }],
    ['the same charge again', { responsibleMemberId: MEMBER, charge: { memberId: MEMBER, amountFen: 500 } }, { amountFen: 500 }, { ok: true, repeat: true }],
    [
      'another amount after it',
      { responsibleMemberId: MEMBER, charge: { memberId: MEMBER, amountFen: 500 } },
      { amountFen: 600 },
      { ok: false, slug: 'report-charged' },
    ],
    [
      'another member after it',
      { responsibleMemberId: MEMBER, charge: { memberId: MEMBER, amountFen: 500 } },
      { amountFen: 500, memberId: OTHER },
      { ok: false, slug: 'report-charged' },
    ],
  ] as const)('%s', (_name, report, request, expected) => {
    expect(chargeDecision(report, request)).toMatchObject(expected);
  });

  it('references the report', () => {
    expect(chargeReference('r1')).toBe('damage-report:r1');
  });
});
