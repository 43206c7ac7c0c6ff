import { applyDelta, applyFull, diffWhitelist, entriesFromRows, findAllowed, normaliseEntries, type Whitelist, type WhitelistEntry } from './whitelist';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const renter = (memberId: string, ...cardUids: string[]): WhitelistEntry => ({ memberId, cardUids, role: 'renter' });
const UNTIL = '2026-01-01T09:00:00.000Z';
const operator = (memberId: string, ...cardUids: string[]): WhitelistEntry => ({ memberId, cardUids, role: 'operator', validUntil: UNTIL });

describe('entriesFromRows', () => {
  it('groups cards per member, sorted, and a renter who is an operator counts as renter (no end)', () => {
    expect(
      entriesFromRows([
        { memberId: B, role: 'operator', cardUid: 'BBBB0002', validUntil: UNTIL },
        { memberId: A, role: 'renter', cardUid: null, validUntil: null },
        { memberId: B, role: 'operator', cardUid: 'BBBB0001', validUntil: UNTIL },
        { memberId: B, role: 'renter', cardUid: 'BBBB0001', validUntil: null },
      ]),
    ).toEqual([renter(A), renter(B, 'BBBB0001', 'BBBB0002')]);
  });

  it("an operator's entry keeps the later end of two grants", () => {
    expect(
      entriesFromRows([
        { memberId: C, role: 'operator', cardUid: 'CCCC0001', validUntil: '2026-01-01T08:30:00.000Z' },
        { memberId: C, role: 'operator', cardUid: 'CCCC0001', validUntil: UNTIL },
      ]),
    ).toEqual([operator(C, 'CCCC0001')]);
  });
});

describe('diffWhitelist', () => {
  const v3: Whitelist = { version: 3, entries: [operator(A, 'AAAA0001'), renter(B)] };
  it.each<[string, WhitelistEntry[], ReturnType<typeof diffWhitelist>]>([
    ['nothing changed', [renter(B), operator(A, 'AAAA0001')], undefined],
    ['a member added', [operator(A, 'AAAA0001'), renter(B), renter(C, 'CCCC0001')], { baseVersion: 3, version: 4, add: [renter(C, 'CCCC0001')], remove: [] }],
    ['a member removed', [operator(A, 'AAAA0001')], { baseVersion: 3, version: 4, add: [], remove: [B] }],
    ['a card bound', [operator(A, 'AAAA0001'), renter(B, 'BBBB0001')], { baseVersion: 3, version: 4, add: [renter(B, 'BBBB0001')], remove: [] }],
    ['a card unbound', [operator(A), renter(B)], { baseVersion: 3, version: 4, add: [operator(A)], remove: [] }],
    [
      "an operator's grant extended",
      [{ ...operator(A, 'AAAA0001'), validUntil: '2026-01-01T10:00:00.000Z' }, renter(B)],
      { baseVersion: 3, version: 4, add: [{ ...operator(A, 'AAAA0001'), validUntil: '2026-01-01T10:00:00.000Z' }], remove: [] },
    ],
    ['everyone gone', [], { baseVersion: 3, version: 4, add: [], remove: [A, B] }],
  ])('%s', (_name, next, expected) => {
    expect(diffWhitelist(v3, next)).toEqual(expected);
  });

  it('from no list at all (version 0)', () => {
    expect(diffWhitelist({ version: 0, entries: [] }, [renter(A)])).toEqual({ baseVersion: 0, version: 1, add: [renter(A)], remove: [] });
  });
});

describe('applyDelta (in the car)', () => {
  const v3: Whitelist = { version: 3, entries: [operator(A, 'AAAA0001'), renter(B)] };
  it.each<[string, Parameters<typeof applyDelta>[1], ReturnType<typeof applyDelta>]>([
    [
      'adds and removes on its base version',
      { baseVersion: 3, version: 4, add: [renter(C)], remove: [B] },
      { ok: true, list: { version: 4, entries: [operator(A, 'AAAA0001'), renter(C)] } },
    ],
    [
      'replaces a changed entry',
      { baseVersion: 3, version: 4, add: [operator(A)], remove: [] },
      { ok: true, list: { version: 4, entries: [operator(A), renter(B)] } },
    ],
    ['refuses a delta on another base (missed one)', { baseVersion: 4, version: 5, add: [renter(C)], remove: [] }, { ok: false, reason: 'version-mismatch' }],
    ['refuses an old delta', { baseVersion: 2, version: 3, add: [], remove: [A] }, { ok: false, reason: 'version-mismatch' }],
    ['refuses a delta that skips versions', { baseVersion: 3, version: 5, add: [], remove: [A] }, { ok: false, reason: 'version-mismatch' }],
  ])('%s', (_name, delta, expected) => {
    expect(applyDelta(v3, delta)).toEqual(expected);
  });

  it('a diff applied to its base gives the target list', () => {
    const next = [renter(C, 'CCCC0002', 'CCCC0001'), operator(A)];
    const delta = diffWhitelist(v3, next)!;
    expect(applyDelta(v3, delta)).toEqual({ ok: true, list: { version: 4, entries: normaliseEntries(next) } });
  });

  it('a full list replaces whatever the car holds', () => {
    expect(applyFull({ version: 7, entries: [renter(B)] })).toEqual({ version: 7, entries: [renter(B)] });
  });
});

describe('findAllowed', () => {
  const list: Whitelist = { version: 1, entries: [operator(A, 'AAAA0001'), renter(B, 'BBBB0001')] };
  const before = Date.parse(UNTIL) - 1;
  it.each<[string, Parameters<typeof findAllowed>[1], number, string | undefined]>([
    ['a listed card', { cardUid: 'BBBB0001' }, before, B],
    ['an unknown card', { cardUid: 'FFFF0001' }, before, undefined],
    ['a listed member (app token)', { memberId: A }, before, A],
    ['an unlisted member', { memberId: C }, before, undefined],
    ["an operator's card at the end of the grant", { cardUid: 'AAAA0001' }, Date.parse(UNTIL), undefined],
    ["an operator's app token after the grant", { memberId: A }, Date.parse(UNTIL) + 60_000, undefined],
    ["a renter's card has no end", { cardUid: 'BBBB0001' }, Date.parse(UNTIL) + 86_400_000, B],
  ])('%s', (_name, credential, now, memberId) => {
    expect(findAllowed(list, credential, now)?.memberId).toBe(memberId);
  });
});
