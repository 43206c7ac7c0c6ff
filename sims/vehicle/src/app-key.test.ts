import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { signAppKey } from '@evshare/telematics';
import { SimCar } from './car';

const SEED = 20261202;
const VIN = 'LSJA24U69MS000001';
const OTHER = 'LSJA24U69MS000002';
const MEMBER = '00000000-0000-4000-8000-00000000000a';
const SUSPENDED = '00000000-0000-4000-8000-00000000000b';
const NOW = Date.parse('2026-12-02T08:00:00.000Z');
const platform = generateKeyPairSync('ed25519');
const forger = generateKeyPairSync('ed25519');

/** A terminal that never connected (no signal at all), with the platform's public key and a fleet list holding MEMBER. */
function offlineCar(): SimCar {
  const car = new SimCar({
    vin: VIN,
    brokerUrl: 'mqtt://127.0.0.1:1',
    topicRoot: 'test',
    start: { lat: 31.23, lng: 121.47, socPct: 80, odometerM: 1000 },
    telemetryParkedMs: 10_000,
    telemetryDrivingMs: 2_000,
    now: () => NOW,
    platformKey: platform.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });
  car.fleet = { version: 3, members: new Map([[MEMBER, []]]) };
  return car;
}
const key = (over: Partial<{ vin: string; memberId: string; notBefore: Date; validitySeconds: number }> = {}, signer = platform.privateKey) =>
  signAppKey(signer, { vin: VIN, memberId: MEMBER, notBefore: new Date(NOW - 60_000), validitySeconds: 900, ...over }).key;

describe('the terminal checks app keys offline', () => {
  it("opens for the platform's key of a listed member for this car, and starts the member's trip", () => {
    const car = offlineCar();
    expect(car.connected).toBe(false);
    expect(car.localUnlock({ appKey: key() })).toBe(true);
    expect(car.locked).toBe(false);
    expect(car.trip?.memberId).toBe(MEMBER);
  });

  it.each([
    ['a forged key (signed by another key)', () => key({}, forger.privateKey), 'signature'],
    ['an expired key', () => key({ notBefore: new Date(NOW - 7_200_000) }), 'expired'],
    ['a key for another car', () => key({ vin: OTHER }), 'other-car'],
    ['the member id alone', () => MEMBER, 'malformed'],
    ['a valid key of a member the lists no longer hold (revoked through the whitelist)', () => key({ memberId: SUSPENDED }), 'not-listed'],
  ])('refuses %s and stays locked', (_name, make, reason) => {
    const car = offlineCar();
    expect(car.localUnlock({ appKey: make() })).toBe(false);
    expect(car.lastRefusal).toBe(reason);
    expect(car.locked).toBe(true);
    expect(car.trip).toBeUndefined();
  });

  it('refuses every generated tampering of a valid key (characters changed, cut, extended, re-signed claims)', () => {
    const valid = key();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    const flipped = fc
      .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 4 })
      .map((changes) => changes.reduce((k, [i, c]) => k.slice(0, i) + c + k.slice(i + 1), valid));
    const cut = fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n));
    const extended = fc.string({ minLength: 1, maxLength: 30 }).map((s) => valid + s);
    const forged = fc
      .record({
        vin: fc.constantFrom(VIN, OTHER),
        memberId: fc.constantFrom(MEMBER, SUSPENDED),
        notBefore: fc.date({ min: new Date(0), max: new Date(2 ** 40) }),
        validitySeconds: fc.integer({ min: 1, max: 86_400 }),
      })
      .map((claims) => signAppKey(forger.privateKey, claims).key);
    fc.assert(
      fc.property(fc.oneof(flipped, cut, extended, forged), (tampered) => {
        if (tampered === valid) return true;
        const car = offlineCar();
        return !car.localUnlock({ appKey: tampered }) && car.locked && car.trip === undefined;
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('a terminal without the platform key refuses every app key', () => {
    const car = new SimCar({
      vin: VIN,
      brokerUrl: 'mqtt://127.0.0.1:1',
      topicRoot: 'test',
      start: { lat: 0, lng: 0, socPct: 80, odometerM: 0 },
      telemetryParkedMs: 10_000,
      telemetryDrivingMs: 2_000,
      now: () => NOW,
    });
    car.fleet = { version: 1, members: new Map([[MEMBER, []]]) };
    expect(car.localUnlock({ appKey: key() })).toBe(false);
    expect(car.lastRefusal).toBe('no-platform-key');
  });
});
