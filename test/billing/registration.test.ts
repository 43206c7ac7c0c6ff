import { bearer, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { expectProblem, smsOutbox, uniquePhone } from './support';

const PASSWORD = 'new-member-password';

describe('registration by SMS code and deregistration', () => {
  let platform: TestPlatform;
  let gw: string;
  let admin: string;

  beforeAll(async () => {
    // Short windows so expiry and the daily limit are seen within the test.
    platform = await startTestPlatform({
      appInstances: 1,
      env: {
        REGISTRATION_CODE_TTL_MS: '2000',
        REGISTRATION_CODE_INTERVAL_MS: '400',
        REGISTRATION_CODES_PER_DAY: '4',
        REGISTRATION_CODES_PER_ADDRESS_PER_HOUR: '100',
      },
    });
    gw = platform.stack.gatewayUrl;
    admin = await login(gw, platform.admin.account, platform.admin.password);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const askCode = (phone: string, locale = 'en') => request(`${gw}/api/v1/auth/register/code`, { method: 'POST', body: { phone, locale } });
  const register = (body: Record<string, unknown>) => request(`${gw}/api/v1/auth/register`, { method: 'POST', body });
  /** The newest code sent to the phone, read from the development outbox. */
  const latestCode = async (phone: string, count: number) => {
    let code = '';
    await eventually(async () => {
      const sent = (await smsOutbox(gw, admin, phone)).filter((m) => m.template === 'verification-code');
      expect(sent).toHaveLength(count);
      code = /\b(\d{6})\b/.exec(sent[0]!.body)![1]!;
    }, 10_000);
    return code;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('registers with the code and is logged in at once', async () => {
    const phone = uniquePhone();
    expect((await askCode(phone)).status).toBe(202);
    const code = await latestCode(phone, 1);
    const created = await register({ phone, code, password: PASSWORD, displayName: 'New Member', locale: 'en' });
    expect(created.status).toBe(201);
    const { sessionKey, role } = created.json<{ sessionKey: string; role: string }>();
    expect(role).toBe('member');
    expect((await request(`${gw}/api/v1/me`, { headers: bearer(sessionKey) })).json()).toMatchObject({ phone, status: 'active', displayName: 'New Member' });
    expect((await request(`${gw}/api/v1/me/licence`, { headers: bearer(sessionKey) })).json()).toMatchObject({ status: 'unverified' });
    // The code is used up, and the phone is taken.
    expectProblem(await register({ phone, code, password: PASSWORD, displayName: 'Again' }), 400);
    await sleep(450);
    await askCode(phone);
    const second = await latestCode(phone, 2);
    expectProblem(await register({ phone, code: second, password: PASSWORD, displayName: 'Again' }), 409);
  });

  it('one code per interval and a daily maximum per phone', async () => {
    const phone = uniquePhone();
    expect((await askCode(phone)).status).toBe(202);
    const early = await askCode(phone);
    expectProblem(early, 429);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      await sleep(450);
      expect((await askCode(phone)).status).toBe(202);
    }
    await sleep(450);
    const overDay = await askCode(phone);
    expectProblem(overDay, 429);
    expect(overDay.json<{ detail: string }>().detail).toMatch(/today/);
  });

  it('five wrong attempts void the code', async () => {
    const phone = uniquePhone();
    await askCode(phone);
    const code = await latestCode(phone, 1);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let left = 4; left >= 0; left--) {
      const reply = await register({ phone, code: wrong, password: PASSWORD, displayName: 'Guess' });
      expectProblem(reply, 400, 'body.code');
      expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:verification-code-wrong', attemptsLeft: left });
    }
    const after = await register({ phone, code, password: PASSWORD, displayName: 'Guess' });
    expectProblem(after, 400);
    expect(after.json()).toMatchObject({ type: 'urn:evshare:problem:verification-code-expired' });
  });

  it('a code expires', async () => {
    const phone = uniquePhone();
    await askCode(phone);
    const code = await latestCode(phone, 1);
    await sleep(2_100);
    expect((await register({ phone, code, password: PASSWORD, displayName: 'Late' })).json()).toMatchObject({
      type: 'urn:evshare:problem:verification-code-expired',
    });
  });

  it.each([
    ['a malformed phone', { phone: '12-34' }, 'body.phone'],
    ['no phone', {}, 'body.phone'],
    ['an unknown locale', { phone: '13900000000', locale: 'fr' }, 'body.locale'],
  ])('asking a code with %s is refused', async (_name, body, field) => {
    expectProblem(await request(`${gw}/api/v1/auth/register/code`, { method: 'POST', body }), 400, field);
  });

  it.each([
    ['a short code', { code: '123' }, 'body.code'],
    ['a short password', { password: 'short' }, 'body.password'],
    ['an empty name', { displayName: ' ' }, 'body.displayName'],
    ['a bad phone', { phone: 'abc' }, 'body.phone'],
  ])('registering with %s is refused', async (_name, change, field) => {
    expectProblem(await register({ phone: '13900000000', code: '123456', password: PASSWORD, displayName: 'X', ...change }), 400, field);
  });

  it('deregistration: refused with a debt, then removes personal data and keeps the ledger', async () => {
    const phone = uniquePhone();
    await askCode(phone);
    const key = (await register({ phone, code: await latestCode(phone, 1), password: PASSWORD, displayName: 'Leaving' })).json<{
      sessionKey: string;
      memberId: string;
    }>();
    const deregister = (password: string) => request(`${gw}/api/v1/auth/deregister`, { method: 'POST', headers: bearer(key.sessionKey), body: { password } });
    const headers = { ...bearer(key.sessionKey), 'idempotency-key': 'leaving-topup-1' };
    await request(`${gw}/api/v1/wallet/top-ups`, { method: 'POST', headers, body: { amountFen: 1_000, provider: 'dev' } });
    await request(`${gw}/api/v1/admin/members/${key.memberId}/deductions`, {
      method: 'POST',
      headers: bearer(admin),
      body: { kind: 'manual', amountFen: 1_500, description: 'Fine' },
    });
    await eventually(
      async () => expect((await request(`${gw}/api/v1/wallet`, { headers: bearer(key.sessionKey) })).json()).toMatchObject({ debtFen: 500 }),
      10_000,
    );

    expectProblem(await deregister('wrong password'), 400, 'body.password');
    expectProblem(await deregister(PASSWORD), 409);
    await request(`${gw}/api/v1/wallet/top-ups`, {
      method: 'POST',
      headers: { ...bearer(key.sessionKey), 'idempotency-key': 'leaving-topup-2' },
      body: { amountFen: 2_000, provider: 'dev' },
    });
    expect((await deregister(PASSWORD)).status).toBe(204);

    await eventually(async () => expectProblem(await request(`${gw}/api/v1/wallet`, { headers: bearer(key.sessionKey) }), 401), 2_000);
    expectProblem(await request(`${gw}/api/v1/auth/login`, { method: 'POST', body: { account: phone, password: PASSWORD } }), 401);
    const ledger = (await request(`${gw}/api/v1/admin/members/${key.memberId}/ledger`, { headers: bearer(admin) })).json<{
      items: Array<{ kind: string; amountFen: number }>;
    }>();
    expect(ledger.items.map((e) => [e.kind, e.amountFen])).toEqual([
      ['payout', -1_500],
      ['top-up', 2_000],
      ['manual', -1_500],
      ['top-up', 1_000],
    ]);
    expect((await request(`${gw}/api/v1/admin/members/${key.memberId}/wallet`, { headers: bearer(admin) })).json()).toEqual({
      balanceFen: 0,
      depositFen: 0,
      debtFen: 0,
    });
    expect(await smsOutbox(gw, admin, phone)).toEqual([]);
    // The phone is free for a new account.
    await sleep(450);
    expect((await askCode(phone)).status).toBe(202);
  });
});
