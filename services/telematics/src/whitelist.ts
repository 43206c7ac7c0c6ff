/**
 * The versioned list of who may unlock a car (claim 7), used by the platform (compute, diff) and
 * by the car (apply, check). Pure: no I/O.
 *
 * Entries are keyed by member id; an entry carries the member's bound card UIDs. A delta moves a
 * list from `baseVersion` to `version` (= baseVersion + 1): entries in `add` replace or join,
 * member ids in `remove` leave. A car whose version is not the delta's base ignores the delta
 * and waits for (or asks for) a full list.
 */
export interface WhitelistEntry {
  memberId: string;
  cardUids: string[];
  /** renter: holds a reservation or rental on this car; operator: granted access to this car for a while. */
  role: 'renter' | 'operator';
  /** An operator's entry: the car refuses it from then on, even offline (ISO-8601 UTC). */
  validUntil?: string;
}

export interface Whitelist {
  version: number;
  entries: WhitelistEntry[];
}

export interface WhitelistDelta {
  baseVersion: number;
  version: number;
  add: WhitelistEntry[];
  remove: string[];
}

/** One row per (member, card) as SQL returns them; a member without cards has cardUid null. */
export interface AccessRow {
  memberId: string;
  role: 'renter' | 'operator';
  cardUid: string | null;
  /** An operator's grant's end (ISO-8601 UTC); null for a renter. */
  validUntil: string | null;
}

/**
 * Sorted by member id, cards sorted and unique; a renter who is also an operator is listed as
 * renter (no end), an operator with two grants until the later end.
 */
export function normaliseEntries(entries: readonly WhitelistEntry[]): WhitelistEntry[] {
  const byMember = new Map<string, WhitelistEntry>();
  for (const entry of entries) {
    const seen = byMember.get(entry.memberId);
    const cardUids = [...new Set([...(seen?.cardUids ?? []), ...entry.cardUids])].sort();
    const renter = seen?.role === 'renter' || entry.role === 'renter';
    const until = [seen?.validUntil, entry.validUntil]
      .filter((t): t is string => t !== undefined)
      .sort()
      .at(-1);
    byMember.set(
      entry.memberId,
      renter || until === undefined
        ? { memberId: entry.memberId, cardUids, role: 'renter' }
        : { memberId: entry.memberId, cardUids, role: 'operator', validUntil: until },
    );
  }
  return [...byMember.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

export function entriesFromRows(rows: readonly AccessRow[]): WhitelistEntry[] {
  return normaliseEntries(
    rows.map((r) => ({
      memberId: r.memberId,
      role: r.role,
      cardUids: r.cardUid ? [r.cardUid] : [],
      ...(r.validUntil === null ? {} : { validUntil: r.validUntil }),
    })),
  );
}

function sameEntry(a: WhitelistEntry, b: WhitelistEntry): boolean {
  return a.role === b.role && a.validUntil === b.validUntil && a.cardUids.length === b.cardUids.length && a.cardUids.every((uid, i) => uid === b.cardUids[i]);
}

/** The delta from `current` to `next` (normalised entries), or undefined when nothing changed. */
export function diffWhitelist(current: Whitelist, next: readonly WhitelistEntry[]): WhitelistDelta | undefined {
  const target = normaliseEntries(next);
  const before = new Map(current.entries.map((e) => [e.memberId, e]));
  const after = new Set(target.map((e) => e.memberId));
  const add = target.filter((e) => {
    const old = before.get(e.memberId);
    return !old || !sameEntry(old, e);
  });
  const remove = current.entries.map((e) => e.memberId).filter((id) => !after.has(id));
  if (add.length === 0 && remove.length === 0) return undefined;
  return { baseVersion: current.version, version: current.version + 1, add, remove };
}

export type ApplyResult = { ok: true; list: Whitelist } | { ok: false; reason: 'version-mismatch' };

/** What the car does with a delta: applied on its base version only. */
export function applyDelta(list: Whitelist, delta: WhitelistDelta): ApplyResult {
  if (delta.baseVersion !== list.version || delta.version !== delta.baseVersion + 1) return { ok: false, reason: 'version-mismatch' };
  const removed = new Set([...delta.remove, ...delta.add.map((e) => e.memberId)]);
  const kept = list.entries.filter((e) => !removed.has(e.memberId));
  return { ok: true, list: { version: delta.version, entries: normaliseEntries([...kept, ...delta.add]) } };
}

/** A full list replaces whatever the car holds: the platform's list is the authority. */
export function applyFull(full: Whitelist): Whitelist {
  return { version: full.version, entries: normaliseEntries(full.entries) };
}

export type Credential = { cardUid: string } | { memberId: string };

/** Whether the entry still holds at `now` (ms): an operator's ends at its validUntil. */
export function entryValid(entry: WhitelistEntry, now: number): boolean {
  return entry.validUntil === undefined || Date.parse(entry.validUntil) > now;
}

/** The entry that lets this card or app token (the member id) unlock the car at `now` (ms), if any. */
export function findAllowed(list: Whitelist, credential: Credential, now: number): WhitelistEntry | undefined {
  const valid = list.entries.filter((e) => entryValid(e, now));
  if ('cardUid' in credential) return valid.find((e) => e.cardUids.includes(credential.cardUid));
  return valid.find((e) => e.memberId === credential.memberId);
}
