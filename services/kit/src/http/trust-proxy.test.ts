import { normalizeAddress, parseTrustProxy } from './trust-proxy';

describe('parseTrustProxy', () => {
  it.each([
    ['false', '10.0.0.1', 0, false],
    ['0', '10.0.0.1', 0, false],
    ['', '127.0.0.1', 0, false],
    ['true', '6.6.6.6', 0, true],
    ['true', '6.6.6.6', 1, false],
    ['1', '6.6.6.6', 0, true],
    ['1', '6.6.6.6', 1, false],
    [' 2 ', '6.6.6.6', 1, true],
    ['2', '6.6.6.6', 2, false],
    ['loopback', '127.0.0.1', 0, true],
    ['loopback', '::1', 3, true],
    ['loopback', '::ffff:127.0.0.1', 0, true],
    ['loopback', '10.0.0.1', 0, false],
    ['loopback, uniquelocal', '10.2.3.4', 0, true],
    ['loopback, uniquelocal', '172.32.0.1', 0, false],
    ['10.1.0.0/16', '10.1.200.3', 0, true],
    ['10.1.0.0/16', '10.2.0.1', 0, false],
    ['192.0.2.7', '192.0.2.7', 0, true],
    ['192.0.2.7', '192.0.2.8', 0, false],
    ['fd00::/8', 'fd12::1', 0, true],
    ['linklocal', '169.254.1.1', 0, true],
    ['loopback', 'not-an-address', 0, false],
  ])('%j: %s at hop %d -> %s', (setting, address, hop, trusted) => {
    expect(parseTrustProxy(setting)!.trusts(address, hop)).toBe(trusted);
  });

  it.each(['maybe', 'yes please', '-1', '100', '10.0.0.0/33', '10.0.0.0/99', '999.1.1.1', 'loopback, nowhere', 'loopback, nonsense', '10.0.0.0/x'])(
    'refuses %j',
    (setting) => {
      expect(parseTrustProxy(setting)).toBeUndefined();
    },
  );

  it.each([
    ['false', true],
    ['no', true],
    ['true', false],
    ['loopback', false],
  ])('%j trusts nobody: %s', (setting, none) => {
    expect(parseTrustProxy(setting)!.none).toBe(none);
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['::1', '::1'],
    ['::ffff:abcd', '::ffff:abcd'],
  ])('%s -> %s', (address, plain) => expect(normalizeAddress(address)).toBe(plain));
});
