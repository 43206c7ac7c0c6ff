import net from 'node:net';

/**
 * Which hops in front of the gateway may tell it the client's address (X-Forwarded-For), read as
 * express reads `trust proxy` so that one value means the same in every service: `false` (or 0)
 * trusts nobody, a number n trusts the n hops nearest the gateway, otherwise a comma-separated
 * list of addresses and CIDR ranges (and the names loopback, linklocal, uniquelocal). Pure.
 */
export interface TrustProxy {
  /** The setting as configured, for /lb/status. */
  readonly text: string;
  /** Whether the hop at `hop` (0: the gateway's TCP peer) is trusted to report the one before it. */
  trusts(address: string, hop: number): boolean;
  /** Nobody is trusted: the peer is the client, the fast path. */
  readonly none: boolean;
}

const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Undefined when the value is not a trust setting. */
export function parseTrustProxy(value: string): TrustProxy | undefined {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false' || text === '0') return { text: 'false', none: true, trusts: () => false };
  if (/^\d{1,2}$/.test(text)) {
    const hops = Number(text);
    return { text, none: false, trusts: (_address, hop) => hop < hops };
  }
  const list = new net.BlockList();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    for (const entry of NAMED[part] ?? [part]) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
      if (family === undefined) return undefined;
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
      if (prefix < 0 || prefix > max) return undefined;
      list.addSubnet(address, prefix, family);
    }
  }
  return {
    text,
    none: false,
    trusts: (address) => {
      const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
      return family !== undefined && list.check(address, family);
    },
  };
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

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
  return { client: chain[hop]!, forwardedFor: chain.slice(0, hop + 1).reverse().join(', '), peerTrusted: true };
}
