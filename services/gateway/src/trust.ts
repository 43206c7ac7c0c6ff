import net from 'node:net';
import { normalizeAddress, type TrustProxy } from '@evshare/kit';

export interface ForwardedChain {
  /** The client as far as trusted hops vouch for it. */
  client: string;
  /** X-Forwarded-For for the next hop: the client, then the trusted hops, the peer last. */
  forwardedFor: string;
  /** The peer is trusted, so its X-Forwarded-Proto/-Host may be passed on. */
  peerTrusted: boolean;
}

/**
 * Walks from the peer towards the client through X-Forwarded-For while the current hop is
 * trusted, as express computes `req.ip`. Entries left of the client are dropped from what is
 * passed on: nobody trusted vouched for them, and a next hop that trusts more than the gateway
 * does must not take a client's own X-Forwarded-For for the truth.
 */
export function forwardedChain(peer: string, forwardedFor: string | undefined, trust: TrustProxy): ForwardedChain {
  if (trust.none || !trust.trusts(peer, 0)) return { client: peer, forwardedFor: peer, peerTrusted: false };
  const entries = forwardedFor === undefined ? [] : forwardedFor.split(',').map((e) => normalizeAddress(e.trim()));
  // chain[0] is the peer, then X-Forwarded-For from right to left.
  const chain = [peer];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    // An empty or non-address entry ends the walk: what is left of it cannot be read.
    if (!net.isIP(entry)) break;
    chain.push(entry);
  }
  let hop = 0;
  while (hop < chain.length - 1 && trust.trusts(chain[hop]!, hop)) hop++;
  return {
    client: chain[hop]!,
    forwardedFor: chain
      .slice(0, hop + 1)
      .reverse()
      .join(', '),
    peerTrusted: true,
  };
}
