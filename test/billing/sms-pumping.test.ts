/**
 * Attack: SMS pumping. Registration codes go to any phone number, and the platform pays for each
 * SMS; an attacker asks for codes to many (premium-rate) numbers. Bounded per client address and
 * for the whole platform, with 429 problem+json and Retry-After.
 */
import { clientAddress, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { expectProblem, smsOutbox, uniquePhone } from './support';

describe('SMS pumping', () => {
  let platform: TestPlatform;
  let gw: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 1, env: { REGISTRATION_CODES_PER_ADDRESS_PER_HOUR: '3', REGISTRATION_CODES_GLOBAL_PER_MINUTE: '8' } });
    gw = platform.stack.gatewayUrl;
  });
  afterAll(() => platform?.stop());

  const askCode = (phone: string, from: string) => request(`${gw}/api/v1/auth/register/code`, { method: 'POST', body: { phone, locale: 'en' }, from });

  it('SMS pumping per address: one address asking codes for many phones stops at its budget', async () => {
    const from = clientAddress(4000);
    const phones = Array.from({ length: 5 }, () => uniquePhone());
    const replies = [];
    for (const phone of phones) replies.push(await askCode(phone, from));
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202, 429, 429]);
    expectProblem(replies[3]!, 429);
    expect(Number(replies[3]!.headers['retry-after'])).toBeGreaterThan(3000);
    expect(replies[3]!.json<{ detail: string }>().detail).toMatch(/from this address/);
    const admin = await login(gw, platform.admin.account, platform.admin.password);
    expect(await smsOutbox(gw, admin, phones[4]!)).toEqual([]);
    // Another address is not affected.
    expect((await askCode(uniquePhone(), clientAddress(4001))).status).toBe(202);
  });

  it('SMS pumping global: many addresses together stop at the global budget per minute', async () => {
    // 4 codes were sent by the test above, within this minute.
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => askCode(uniquePhone(), clientAddress(4100 + i))));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 202, 202, 429, 429, 429, 429]);
    for (const refused of replies.filter((r) => r.status === 429)) {
      expectProblem(refused, 429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
  });
});
