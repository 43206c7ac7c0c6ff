import { forwardedChain, parseTrustProxy } from './trust';

describe('parseTrustProxy', () => {
  it.each([
    ['false', '10.0.0.1', 0, false],
    ['1', '6.6.6.6', 0, true],
    ['1', '6.6.6.6', 1, false],
    ['loopback', '127.0.0.1', 0, true],
    ['loopback', '::1', 3, true],
    ['loopback, uniquelocal', '10.2.3.4', 0, true],
    ['loopback, uniquelocal', '172.32.0.1', 0, false],
    ['10.1.0.0/16', '10.1.200.3', 0, true],
    ['10.1.0.0/16', '10.2.0.1', 0, false],
    ['192.0.2.7', '192.0.2.7', 0, true],
    ['fd00::/8', 'fd12::1', 0, true],
    ['linklocal', '169.254.1.1', 0, true],
  ])('%s: %s at hop %d -> %s', (setting, address, hop, trusted) => {
    expect(parseTrustProxy(setting)!.trusts(address, hop)).toBe(trusted);
  });

  it.each(['yes please', '10.0.0.0/33', '999.1.1.1', 'loopback, nowhere', '10.0.0.0/x'])('refuses %j', (setting) => {
    expect(parseTrustProxy(setting)).toBeUndefined();
  });
});

describe('forwardedChain', () => {
  it.each([
    ['nobody trusted: the peer, whatever the header says', 'false', '10.0.0.2', '6.6.6.6', '10.0.0.2', '10.0.0.2'],
    ['an untrusted peer is the client even with CIDR trust', '10.0.0.0/8', '203.0.113.5', '10.9.9.9', '203.0.113.5', '203.0.113.5'],
    ['a trusted peer vouches for the entry it appended', '10.0.0.0/8', '10.0.0.2', '6.6.6.6, 203.0.113.5', '203.0.113.5', '203.0.113.5, 10.0.0.2'],
    // One private hop passing X-Forwarded-For through: the client still cannot choose a private address.
    ['a forged private entry behind a public client stays out', 'loopback, uniquelocal', '127.0.0.1', '10.0.0.9, 203.0.113.5', '203.0.113.5', '203.0.113.5, 127.0.0.1'],
    ['two hops by count', '2', '10.0.0.2', '6.6.6.6, 203.0.113.5, 10.0.0.3', '203.0.113.5', '203.0.113.5, 10.0.0.3, 10.0.0.2'],
    ['fewer entries than trusted hops: the leftmost', '3', '10.0.0.2', '203.0.113.5', '203.0.113.5', '203.0.113.5, 10.0.0.2'],
  ])('%s', (_name, setting, peer, header, client, passed) => {
    expect(forwardedChain(peer, header, parseTrustProxy(setting)!)).toMatchObject({ client, forwardedFor: passed });
  });
});
