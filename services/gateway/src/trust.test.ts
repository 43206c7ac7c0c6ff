import { parseTrustProxy } from '@evshare/kit';
import { forwardedChain } from './trust';

describe('forwardedChain', () => {
  it.each([
    ['nobody trusted: the peer, whatever the header says', 'false', '10.0.0.2', '6.6.6.6', '10.0.0.2', '10.0.0.2'],
    ['an untrusted peer is the client even with CIDR trust', '10.0.0.0/8', '203.0.113.5', '10.9.9.9', '203.0.113.5', '203.0.113.5'],
    ['a trusted peer vouches for the entry it appended', '10.0.0.0/8', '10.0.0.2', '6.6.6.6, 203.0.113.5', '203.0.113.5', '203.0.113.5, 10.0.0.2'],
    // One private hop passing X-Forwarded-For through: the client still cannot choose a private address.
    [
      'a forged private entry behind a public client stays out',
      'loopback, uniquelocal',
      '127.0.0.1',
      '10.0.0.9, 203.0.113.5',
      '203.0.113.5',
      '203.0.113.5, 127.0.0.1',
    ],
    ['two hops by count', '2', '10.0.0.2', '6.6.6.6, 203.0.113.5, 10.0.0.3', '203.0.113.5', '203.0.113.5, 10.0.0.3, 10.0.0.2'],
    ['fewer entries than trusted hops: the leftmost', '3', '10.0.0.2', '203.0.113.5', '203.0.113.5', '203.0.113.5, 10.0.0.2'],
  ])('%s', (_name, setting, peer, header, client, passed) => {
    expect(forwardedChain(peer, header, parseTrustProxy(setting)!)).toMatchObject({ client, forwardedFor: passed });
  });
});
