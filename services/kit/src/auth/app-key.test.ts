import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { APP_KEY_CLOCK_SKEW_S, signAppKey, verifyAppKey } from './app-key';

const SEED = 20261202;
const VIN = 'LSJA24U69MS000001';
const OTHER = 'LSJA24U69MS000002';
const MEMBER = '00000000-0000-4000-8000-00000000000a';
const NOW = Date.parse('2026-12-02T08:00:00.000Z');
const platform = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('ed25519');
const issue = (over: Partial<{ vin: string; notBefore: Date; validitySeconds: number }> = {}, key = platform.privateKey) =>
  signAppKey(key, { vin: VIN, memberId: MEMBER, notBefore: new Date(NOW - 60_000), validitySeconds: 900, ...over }).key;
const check = (key: string, nowMs = NOW, vin = VIN) => verifyAppKey(platform.publicKey, key, { vin, nowMs });

describe('app keys, verified by the terminal offline', () => {
  it('a key the platform issued for this car, inside its window, opens; the claims say whose it is', () => {
    const result = check(issue());
    expect(result.ok && result.claims).toMatchObject({ vin: VIN, mid: MEMBER, exp: Math.floor(NOW / 1000) - 60 + 900 });
  });

  it.each([
    ['a key for another car', () => check(issue({ vin: OTHER })), 'other-car'],
    ['an expired key', () => check(issue(), NOW + (840 + APP_KEY_CLOCK_SKEW_S + 1) * 1000), 'expired'],
    ['a key not valid yet', () => check(issue({ notBefore: new Date(NOW + 3_600_000) })), 'not-yet-valid'],
    ['a key signed by anyone but the platform', () => check(issue({}, attacker.privateKey)), 'signature'],
    ['the member id alone', () => check(MEMBER), 'malformed'],
    ['an empty string', () => check(''), 'malformed'],
    ['a huge string', () => check(`evk1.${'A'.repeat(5_000)}.${'A'.repeat(86)}`), 'malformed'],
  ])('%s is refused', (_name, run, reason) => {
    expect(run()).toEqual({ ok: false, reason });
  });

  it('the platform refuses to issue a key longer than a day', () => {
    expect(() => issue({ validitySeconds: 24 * 3600 + 1 })).toThrow(RangeError);
  });

  it('any tampering with a valid key (a character changed, cut, claims rewritten and re-encoded) is refused', () => {
    const key = issue();
    const [prefix, , signature] = key.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    const flipped = fc
      .tuple(fc.nat({ max: key.length - 1 }), fc.constantFrom(...alphabet))
      .filter(([i, c]) => key[i] !== c)
      .map(([i, c]) => key.slice(0, i) + c + key.slice(i + 1));
    const cut = fc.nat({ max: key.length - 1 }).map((n) => key.slice(0, n));
    const rewritten = fc
      .record({
        vin: fc.constantFrom(VIN, OTHER),
        mid: fc.uuid(),
        nbf: fc.integer({ min: 0, max: 2 ** 32 }),
        exp: fc.integer({ min: 0, max: 2 ** 32 }),
        nonce: fc.constant('A'.repeat(22)),
      })
      .map((c) => `${prefix}.${Buffer.from(JSON.stringify(c)).toString('base64url')}.${signature}`);
    const appended = fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${key}${s}`);
    fc.assert(
      // Only the key itself verifies: a signature's other spellings (the spare bits of its last
      // base64url character) are refused as malformed.
      fc.property(fc.oneof(flipped, cut, rewritten, appended), (tampered) => tampered === key || !check(tampered).ok),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});
