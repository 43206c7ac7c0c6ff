import fc from 'fast-check';
import {
  applyFleetDelta,
  chainDeltas,
  collectPage,
  compactId,
  decodeEntry,
  diffFleet,
  emptyFleetList,
  encodeEntry,
  expandId,
  fleetMemberByCard,
  pageFleet,
  type FleetAssembly,
  type FleetList,
} from './fleet-list';
import { decideUnlock } from './unlock';
import type { Whitelist } from './whitelist';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const list = (version: number, entries: Record<string, string[]>): FleetList => ({ version, members: new Map(Object.entries(entries)) });
const SEED = 20261202;

describe('diffFleet', () => {
  it.each([
    ['a new member joins', {}, { [A]: ['AAAA0001'] }, undefined, [encodeEntry(A, ['AAAA0001'])], []],
    ['a card added changes the entry', { [A]: [] }, { [A]: ['AAAA0001'] }, undefined, [encodeEntry(A, ['AAAA0001'])], []],
    ['nothing changed', { [A]: ['AAAA0001'] }, { [A]: ['AAAA0001'] }, undefined, [], []],
    ['a member no longer eligible leaves', { [A]: [], [B]: [] }, { [B]: [] }, undefined, [], [A]],
    [
      'only the scope is compared: B absent from next but out of scope stays',
      { [A]: [], [B]: [] },
      { [A]: ['AAAA0001'] },
      [A],
      [encodeEntry(A, ['AAAA0001'])],
      [],
    ],
    ['a scoped member not eligible leaves', { [A]: [], [B]: [] }, {}, [B], [], [B]],
  ])('%s', (_name, before, after, scope, add, remove) => {
    expect(diffFleet(new Map(Object.entries(before)), new Map(Object.entries(after)), scope)).toEqual({ add, remove });
  });
});

describe('applyFleetDelta', () => {
  it('applies on its base version only', () => {
    const base = list(3, { [A]: [] });
    expect(applyFleetDelta(base, { baseVersion: 2, version: 3, add: [], remove: [] })).toEqual({ ok: false, reason: 'version-mismatch' });
    expect(applyFleetDelta(base, { baseVersion: 3, version: 5, add: [], remove: [] })).toEqual({ ok: false, reason: 'version-mismatch' });
    const applied = applyFleetDelta(base, { baseVersion: 3, version: 4, add: [`${compactId(B)}:BBBB0002,BBBB0001`], remove: [A] });
    expect(applied.ok && [applied.list.version, [...applied.list.members]]).toEqual([4, [[B, ['BBBB0001', 'BBBB0002']]]]);
    expect(base.members.has(A)).toBe(true);
  });
});

const uuidArb = fc.uuid({ version: 4 });
const cardArb = fc.stringMatching(/^[0-9A-F]{8}$/);
const membersArb = fc.dictionary(
  uuidArb,
  fc.uniqueArray(cardArb, { maxLength: 3 }).map((cards) => [...cards].sort()),
  { maxKeys: 60 },
);

describe('chained deltas and pages (generated lists)', () => {
  it('the chain of deltas from any list to any other, applied in order, gives the other; each delta fits the byte budget', () => {
    fc.assert(
      fc.property(membersArb, membersArb, fc.integer({ min: 100, max: 2_000 }), (from, to, budget) => {
        const before = list(7, from);
        const change = diffFleet(before.members, new Map(Object.entries(to)));
        let car: FleetList = before;
        const deltas = chainDeltas(7, change, budget);
        for (const delta of deltas) {
          const bytes = Buffer.byteLength(JSON.stringify([delta.add, delta.remove]));
          if (delta.add.length + delta.remove.length > 1) expect(bytes).toBeLessThanOrEqual(budget + 10);
          const applied = applyFleetDelta(car, delta);
          if (!applied.ok) return false;
          car = applied.list;
        }
        expect(Object.fromEntries(car.members)).toEqual(to);
        expect(car.version).toBe(7 + deltas.length);
        return true;
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('pages in any order assemble the list; a page of another version starts over', () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 100, max: 1_000 }), fc.infiniteStream(fc.nat()), (members, budget, order) => {
        const full = list(9, members);
        const pages = pageFleet(full, budget);
        expect(pages.every((p) => p.parts === pages.length)).toBe(true);
        const shuffled = [...pages].sort(() => (order.next().value % 3) - 1);
        let assembly: FleetAssembly | undefined = collectPage(undefined, { version: 8, part: 0, parts: 2, entries: [compactId(A)] }).assembly;
        let complete: FleetList | undefined;
        for (const page of shuffled) ({ assembly, complete } = collectPage(assembly, page));
        expect(complete && Object.fromEntries(complete.members)).toEqual(members);
        expect(complete?.version).toBe(9);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('an empty list is one empty page; a page outside its parts is refused', () => {
    expect(pageFleet(emptyFleetList(), 100)).toEqual([{ version: 0, part: 0, parts: 1, entries: [] }]);
    expect(collectPage(undefined, { version: 1, part: 2, parts: 2, entries: [] }).refused).toBe('part-out-of-range');
  });
});

describe('the compact entry', () => {
  it('is the UUID in 22 base64url characters and the cards; it decodes back (generated ids and cards)', () => {
    expect(encodeEntry(A, [])).toBe('AAAAAAAAQACAAAAAAAAACg');
    expect(encodeEntry(A, ['AAAA0001', 'BBBB0002'])).toBe('AAAAAAAAQACAAAAAAAAACg:AAAA0001,BBBB0002');
    fc.assert(
      fc.property(uuidArb, fc.uniqueArray(cardArb, { maxLength: 5 }), (id, cards) => {
        expect(compactId(id)).toHaveLength(22);
        expect(expandId(compactId(id))).toBe(id);
        expect(decodeEntry(encodeEntry(id, [...cards].sort()))).toEqual({ memberId: id, cards: [...cards].sort() });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('decideUnlock (the terminal alone)', () => {
  const NOW = Date.parse('2026-01-01T08:00:00.000Z');
  const fleet = list(4, { [A]: ['AAAA0001'], [B]: ['BBBB0001'] });
  const none: Whitelist = { version: 1, entries: [] };
  const heldByB: Whitelist = { version: 2, entries: [{ memberId: B, cardUids: ['BBBB0001'], role: 'renter' }] };
  const withOperator: Whitelist = { version: 2, entries: [{ memberId: C, cardUids: ['CCCC0001'], role: 'operator', validUntil: '2026-01-01T09:00:00.000Z' }] };
  it.each([
    ['a fleet member walks up to a free car by card', none, undefined, { cardUid: 'AAAA0001' }, { granted: true, memberId: A, source: 'fleet' }],
    ['a fleet member by app', none, undefined, { memberId: A }, { granted: true, memberId: A, source: 'fleet' }],
    ['an unknown card', none, undefined, { cardUid: 'FFFF0001' }, { granted: false, reason: 'not-listed' }],
    ["someone else's reservation makes the car refuse", heldByB, undefined, { cardUid: 'AAAA0001' }, { granted: false, reason: 'held' }],
    ['the holder opens it', heldByB, undefined, { cardUid: 'BBBB0001' }, { granted: true, memberId: B, source: 'car' }],
    ['a car on a trip opens for its driver', none, A, { cardUid: 'AAAA0001' }, { granted: true, memberId: A, source: 'fleet' }],
    ['a car on a trip refuses another member', none, A, { cardUid: 'BBBB0001' }, { granted: false, reason: 'in-use' }],
    [
      'an operator granted the car opens it even when held',
      { ...heldByB, entries: [...heldByB.entries, ...withOperator.entries] },
      undefined,
      { cardUid: 'CCCC0001' },
      { granted: true, memberId: C, source: 'car' },
    ],
  ])('%s', (_name, car, trip, credential, expected) => {
    expect(decideUnlock({ car, fleet, ...(trip ? { tripMemberId: trip } : {}) }, credential, NOW)).toEqual(expected);
  });
  it('finds a member by card', () => {
    expect(fleetMemberByCard(fleet, 'BBBB0001')).toBe(B);
    expect(fleetMemberByCard(fleet, 'BBBB0002')).toBeUndefined();
  });
});
