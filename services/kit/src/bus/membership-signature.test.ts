import { MEMBERSHIP_SIGNATURE_MAX_AGE_MS, signMembership, verifyMembership } from './membership-signature';

const KEY = 'k'.repeat(32);
const NOW = Date.parse('2026-12-02T03:00:00Z');
const announcement = { id: 'app-1', url: 'http://10.0.0.7:8082', maxConcurrency: 64, startedAt: '2026-12-02T02:00:00Z' };
const signed = signMembership('app.announce', announcement, KEY, NOW) as Record<string, unknown>;

describe('membership signatures', () => {
  it('leaves the payload as it is without a key, and accepts anything without one', () => {
    expect(signMembership('app.announce', announcement, undefined)).toBe(announcement);
    expect(verifyMembership('app.announce', { anything: true }, undefined)).toBe(true);
  });

  it.each<[string, string, unknown, number, boolean]>([
    ['the signed message', 'app.announce', signed, NOW, true],
    ['keys in another order', 'app.announce', Object.fromEntries(Object.entries(signed).reverse()), NOW, true],
    ['within the age limit', 'app.announce', signed, NOW + MEMBERSHIP_SIGNATURE_MAX_AGE_MS, true],
    ['an unsigned message', 'app.announce', announcement, NOW, false],
    ['a rogue URL under a real signature', 'app.announce', { ...signed, url: 'http://attacker.example' }, NOW, false],
    ['another subject (a withdrawal from an announcement)', 'app.withdraw', signed, NOW, false],
    ['a replay after the age limit', 'app.announce', signed, NOW + MEMBERSHIP_SIGNATURE_MAX_AGE_MS + 1, false],
    ['a moved signing time', 'app.announce', { ...signed, signedAt: new Date(NOW + 10_000).toISOString() }, NOW, false],
    ['another key', 'app.announce', signMembership('app.announce', announcement, 'x'.repeat(32), NOW), NOW, false],
    ['a short signature', 'app.announce', { ...signed, sig: 'abc' }, NOW, false],
    ['a signature that is not a string', 'app.announce', { ...signed, sig: 42 }, NOW, false],
    ['a signing time that is no date', 'app.announce', { ...signed, signedAt: 'yesterday' }, NOW, false],
    ['not an object', 'app.announce', 'app-1', NOW, false],
    ['null', 'app.announce', null, NOW, false],
    ['an array', 'app.announce', [signed], NOW, false],
  ])('%s', (_name, subject, data, now, accepted) => {
    expect(verifyMembership(subject, data, KEY, now)).toBe(accepted);
  });
});
