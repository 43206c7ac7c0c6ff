/**
 * The fleet list (claim 7: registration writes the member into every car): every member eligible
 * to rent, with their card UIDs, held by every terminal under one fleet-wide version. Pure: used
 * by the platform (diff, pages, deltas) and by the car (apply, assemble, look up).
 *
 * On the wire an entry is one compact string, `<member id>[:<card>,<card>…]` with the member's
 * UUID as its 16 bytes in base64url (22 characters): the list is 50,000 members on a terminal, and
 * its full form crosses the link in pages that each fit one MQTT packet.
 */
export type FleetEntry = string;

/** The 22-character base64url form of a UUID (its 16 bytes). */
export function compactId(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

export function expandId(compact: string): string {
  const hex = Buffer.from(compact, 'base64url').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function encodeEntry(memberId: string, cards: readonly string[]): FleetEntry {
  return cards.length === 0 ? compactId(memberId) : `${compactId(memberId)}:${cards.join(',')}`;
}

export function decodeEntry(entry: FleetEntry): { memberId: string; cards: string[] } {
  const [id, cards] = entry.split(':');
  return { memberId: expandId(id!), cards: cards ? [...new Set(cards.split(','))].sort() : [] };
}

export interface FleetList {
  version: number;
  /** member id -> sorted card UIDs */
  members: ReadonlyMap<string, readonly string[]>;
}

export interface FleetDelta {
  baseVersion: number;
  version: number;
  add: FleetEntry[];
  /** Member ids (UUIDs). */
  remove: string[];
}

export const emptyFleetList = (): FleetList => ({ version: 0, members: new Map() });

const sameCards = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((uid, i) => uid === b[i]);

const entryOf = encodeEntry;

/**
 * What changed for `scope` (the members recomputed; undefined: everyone) between `current` and
 * `next` (the eligible members among them with their sorted cards).
 */
export function diffFleet(
  current: ReadonlyMap<string, readonly string[]>,
  next: ReadonlyMap<string, readonly string[]>,
  scope?: Iterable<string>,
): { add: FleetEntry[]; remove: string[] } {
  const ids = scope ? new Set(scope) : new Set([...current.keys(), ...next.keys()]);
  const add: FleetEntry[] = [];
  const remove: string[] = [];
  for (const id of [...ids].sort()) {
    const before = current.get(id);
    const after = next.get(id);
    if (after && (!before || !sameCards(before, after))) add.push(entryOf(id, after));
    else if (!after && before) remove.push(id);
  }
  return { add, remove };
}

/** The JSON size of an entry or a removed id inside an array (with its comma). */
const entryBytes = (entry: FleetEntry) => entry.length + 3;
const idBytes = (id: string) => id.length + 3;

/**
 * A change of many members as a chain of deltas (version, version + 1, …), each under `maxBytes`
 * of entries, so every delta fits one MQTT packet; one member's change is one delta.
 */
export function chainDeltas(baseVersion: number, change: { add: FleetEntry[]; remove: string[] }, maxBytes: number): FleetDelta[] {
  const deltas: FleetDelta[] = [];
  let current: FleetDelta = { baseVersion, version: baseVersion + 1, add: [], remove: [] };
  let size = 0;
  const room = (bytes: number) => {
    if (size + bytes > maxBytes && (current.add.length > 0 || current.remove.length > 0)) {
      deltas.push(current);
      current = { baseVersion: current.version, version: current.version + 1, add: [], remove: [] };
      size = 0;
    }
    size += bytes;
  };
  for (const entry of change.add) {
    room(entryBytes(entry));
    current.add.push(entry);
  }
  for (const id of change.remove) {
    room(idBytes(id));
    current.remove.push(id);
  }
  if (current.add.length > 0 || current.remove.length > 0) deltas.push(current);
  return deltas;
}

/** Applies a delta on its base version only (the car); anything else waits for a full list. */
export function applyFleetDelta(list: FleetList, delta: FleetDelta): { ok: true; list: FleetList } | { ok: false; reason: 'version-mismatch' } {
  if (delta.baseVersion !== list.version || delta.version !== delta.baseVersion + 1) return { ok: false, reason: 'version-mismatch' };
  const members = new Map(list.members);
  for (const id of delta.remove) members.delete(id);
  for (const entry of delta.add) {
    const { memberId, cards } = decodeEntry(entry);
    members.set(memberId, cards);
  }
  return { ok: true, list: { version: delta.version, members } };
}

export interface FleetPage {
  version: number;
  /** 0-based */
  part: number;
  parts: number;
  entries: FleetEntry[];
}

/** The full list in pages of at most `maxBytes` of entries each (an empty list is one empty page). */
export function pageFleet(list: FleetList, maxBytes: number): FleetPage[] {
  const pages: FleetEntry[][] = [[]];
  let size = 0;
  for (const id of [...list.members.keys()].sort()) {
    const entry = entryOf(id, list.members.get(id)!);
    const bytes = entryBytes(entry);
    if (size + bytes > maxBytes && pages.at(-1)!.length > 0) {
      pages.push([]);
      size = 0;
    }
    pages.at(-1)!.push(entry);
    size += bytes;
  }
  return pages.map((entries, part) => ({ version: list.version, part, parts: pages.length, entries }));
}

/** The pages of one full list a car has received so far. */
export interface FleetAssembly {
  version: number;
  parts: number;
  received: Map<number, FleetEntry[]>;
}

/**
 * Collects a page (the car): pages of another version start over; the list is complete (and
 * replaces the car's) once every page of one version arrived, in any order.
 */
export function collectPage(
  assembly: FleetAssembly | undefined,
  page: FleetPage,
): { assembly: FleetAssembly | undefined; complete?: FleetList; refused?: 'part-out-of-range' } {
  if (page.part >= page.parts) return { assembly, refused: 'part-out-of-range' };
  const current =
    assembly && assembly.version === page.version && assembly.parts === page.parts
      ? assembly
      : { version: page.version, parts: page.parts, received: new Map<number, FleetEntry[]>() };
  current.received.set(page.part, page.entries);
  if (current.received.size < current.parts) return { assembly: current };
  const members = new Map<string, string[]>();
  for (const entries of current.received.values()) {
    for (const entry of entries) {
      const { memberId, cards } = decodeEntry(entry);
      members.set(memberId, cards);
    }
  }
  return { assembly: undefined, complete: { version: page.version, members } };
}

/** The member a card UID belongs to on this list. */
export function fleetMemberByCard(list: FleetList, cardUid: string): string | undefined {
  for (const [id, cards] of list.members) if (cards.includes(cardUid)) return id;
  return undefined;
}
