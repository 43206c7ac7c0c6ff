import { applyDelta, applyFull, diffWhitelist, entriesFromRows, findAllowed, normaliseEntries, type Whitelist, type WhitelistEntry } from './whitelist';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const renter = (memberId: string, ...cardUids: string[]): WhitelistEntry => ({ memberId, cardUids, role: 'renter' });
const staff = (memberId: string, ...cardUids: string[]): WhitelistEntry => ({ memberId, cardUids, role: 'staff' });

describe('entriesFromRows', () => {
  it('groups cards per member, sorted, and a renter who is staff counts as renter', () => {
    expect(
      entriesFromRows([
        { memberId: B, role: 'staff', cardUid: 'BBBB0002' },
        { memberId: A, role: 'renter', cardUid: null },
        { memberId: B, role: 'staff', cardUid: 'BBBB0001' },
        { memberId: B, role: 'renter', cardUid: 'BBBB0001' },
      ]),
    ).toEqual([renter(A), renter(B, 'BBBB0001', 'BBBB0002')]);
  });
});

describe('diffWhitelist', () => {
  const v3: Whitelist = { version: 3, entries: [staff(A, 'AAAA0001'), renter(B)] };
  it.each<[string, WhitelistEntry[], ReturnType<typeof diffWhitelist>]>([
    ['nothing changed', [renter(B), staff(A, 'AAAA0001')], undefined],
    ['a member added', [staff(A, 'AAAA0001'), renter(B), renter(C, 'CCCC0001')], { baseVersion: 3, version: 4, add: [renter(C, 'CCCC0001')], remove: [] }],
    ['a member removed', [staff(A, 'AAAA0001')], { baseVersion: 3, version: 4, add: [], remove: [B] }],
    ['a card bound', [staff(A, 'AAAA0001'), renter(B, 'BBBB0001')], { baseVersion: 3, version: 4, add: [renter(B, 'BBBB0001')], remove: [] }],
    ['a card unbound', [staff(A), renter(B)], { baseVersion: 3, version: 4, add: [staff(A)], remove: [] }],
    ['everyone gone', [], { baseVersion: 3, version: 4, add: [], remove: [A, B] }],
  ])('%s', (_name, next, expected) => {
    expect(diffWhitelist(v3, next)).toEqual(expected);
  });

  it('from no list at all (version 0)', () => {
    expect(diffWhitelist({ version: 0, entries: [] }, [renter(A)])).toEqual({ baseVersion: 0, version: 1, add: [renter(A)], remove: [] });
  });
});

describe('applyDelta (in the car)', () => {
  const v3: Whitelist = { version: 3, entries: [staff(A, 'AAAA0001'), renter(B)] };
  it.each<[string, Parameters<typeof applyDelta>[1], ReturnType<typeof applyDelta>]>([
    ['adds and removes on its base version', { baseVersion: 3, version: 4, add: [renter(C)], remove: [B] }, { ok: true, list: { version: 4, entries: [staff(A, 'AAAA0001'), renter(C)] } }],
    ['replaces a changed entry', { baseVersion: 3, version: 4, add: [staff(A)], remove: [] }, { ok: true, list: { version: 4, entries: [staff(A), renter(B)] } }],
    ['refuses a delta on another base (missed one)', { baseVersion: 4, version: 5, add: [renter(C)], remove: [] }, { ok: false, reason: 'version-mismatch' }],
    ['refuses an old delta', { baseVersion: 2, version: 3, add: [], remove: [A] }, { ok: false, reason: 'version-mismatch' }],
    ['refuses a delta that skips versions', { baseVersion: 3, version: 5, add: [], remove: [A] }, { ok: false, reason: 'version-mismatch' }],
  ])('%s', (_name, delta, expected) => {
    expect(applyDelta(v3, delta)).toEqual(expected);
  });

  it('a diff applied to its base gives the target list', () => {
    const next = [renter(C, 'CCCC0002', 'CCCC0001'), staff(A)];
    const delta = diffWhitelist(v3, next)!;
    expect(applyDelta(v3, delta)).toEqual({ ok: true, list: { version: 4, entries: normaliseEntries(next) } });
  });

  it('a full list replaces whatever the car holds', () => {
    expect(applyFull({ version: 7, entries: [renter(B)] })).toEqual({ version: 7, entries: [renter(B)] });
  });
});

describe('findAllowed', () => {
  const list: Whitelist = { version: 1, entries: [staff(A, 'AAAA0001'), renter(B, 'BBBB0001')] };
  it.each<[string, Parameters<typeof findAllowed>[1], string | undefined]>([
    ['a listed card', { cardUid: 'BBBB0001' }, B],
    ['an unknown card', { cardUid: 'FFFF0001' }, undefined],
    ['a listed member (app token)', { memberId: A }, A],
    ['an unlisted member', { memberId: C }, undefined],
  ])('%s', (_name, credential, memberId) => {
    expect(findAllowed(list, credential)?.memberId).toBe(memberId);
  });
});
