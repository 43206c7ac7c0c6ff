import net from 'node:net';

/**
 * TRUST_PROXY, one reading for every service (the express apps, the heartbeat's upgrades, the
 * gateway): which hops in front may report the client's address in X-Forwarded-For.
 *
 * - `false`, `0`, `no` or empty: nobody; the socket's peer is the client.
 * - `true`, `yes`: one hop (express's own `true` would trust every hop, letting a client choose its
 *   address with its own X-Forwarded-For); a number n: the n hops nearest the service.
 * - otherwise a comma-separated list of exact addresses and CIDR ranges, and the names loopback,
 *   linklocal, uniquelocal; a hop is trusted when its address is in the list.
 *
 * Pure; undefined for a value that is none of these.
 */
export interface TrustProxy {
  /** The setting as read (lower case, trimmed), for status pages. */
  readonly text: string;
  /** Nobody is trusted: the peer is the client. */
  readonly none: boolean;
  /** Whether the hop at `hop` (0: the socket's peer) is trusted to report the one before it. */
  trusts(address: string, hop: number): boolean;
}

const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

const familyOf = (address: string) => (net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined);

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function parseTrustProxy(value: string): TrustProxy | undefined {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false' || text === 'no' || text === '0') return { text: 'false', none: true, trusts: () => false };
  if (text === 'true' || text === 'yes') return { text, none: false, trusts: (_address, hop) => hop < 1 };
  if (/^\d{1,2}$/.test(text)) {
    const hops = Number(text);
    return { text, none: false, trusts: (_address, hop) => hop < hops };
  }
  const list = new net.BlockList();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    for (const entry of NAMED[part] ?? [part]) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = familyOf(address);
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
      const plain = normalizeAddress(address);
      const family = familyOf(plain);
      return family !== undefined && list.check(plain, family);
    },
  };
}

/** Express's `trust proxy` for a setting: a function of (address, hop), as express calls it. */
export function expressTrustProxy(trust: TrustProxy): false | ((address: string, hop: number) => boolean) {
  return trust.none ? false : (address, hop) => trust.trusts(address, hop);
}
