import { ALL_BUSY, HashRing } from './ring';
import type { Upstream } from './upstream';

/**
 * A fixed list of upstreams from the configuration (auth, push, web): round-robin over the
 * available ones, or sticky by client address (a consistent-hash ring without a load bound, so a
 * reconnecting WebSocket client lands where its other connections are).
 */
export class StaticPool {
  private next = 0;
  private readonly ring: HashRing<Upstream> | undefined;

  constructor(
    readonly members: readonly Upstream[],
    mode: 'round-robin' | 'sticky',
    vnodes: number,
  ) {
    this.ring =
      mode === 'sticky'
        ? new HashRing(
            members,
            members.map((m) => m.id),
            vnodes,
          )
        : undefined;
  }

  pick(hash: number, exclude?: Upstream): Upstream | undefined {
    if (this.ring) {
      const chosen = this.ring.pick(hash, Infinity, exclude);
      return chosen === ALL_BUSY ? undefined : chosen;
    }
    const n = this.members.length;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      const member = this.members[index]!;
      if (member.available && member !== exclude) {
        this.next = index + 1;
        return member;
      }
    }
    return undefined;
  }
}
