/**
 * Who is online on this instance: authenticated connections indexed by member (for delivery and
 * the per-member cap) and by session (for revocation). Sets keep insertion order, so the first
 * connection of a member is its oldest.
 */
export class ConnectionRegistry<C> {
  private readonly byMember = new Map<string, Set<C>>();
  private readonly bySession = new Map<string, Set<C>>();
  private connections = 0;

  add(memberId: string, sessionHash: string, connection: C): void {
    if (addTo(this.byMember, memberId, connection)) this.connections++;
    addTo(this.bySession, sessionHash, connection);
  }

  remove(memberId: string, sessionHash: string, connection: C): void {
    if (removeFrom(this.byMember, memberId, connection)) this.connections--;
    removeFrom(this.bySession, sessionHash, connection);
  }

  ofMember(memberId: string): ReadonlySet<C> {
    return this.byMember.get(memberId) ?? EMPTY;
  }

  ofSession(sessionHash: string): ReadonlySet<C> {
    return this.bySession.get(sessionHash) ?? EMPTY;
  }

  counts(): { members: number; connections: number } {
    return { members: this.byMember.size, connections: this.connections };
  }
}

const EMPTY: ReadonlySet<never> = new Set<never>();

function addTo<C>(index: Map<string, Set<C>>, key: string, connection: C): boolean {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  const before = set.size;
  set.add(connection);
  return set.size > before;
}

function removeFrom<C>(index: Map<string, Set<C>>, key: string, connection: C): boolean {
  const set = index.get(key);
  if (!set?.delete(connection)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}
