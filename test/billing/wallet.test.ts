import { randomUUID } from 'node:crypto';
import { bearer, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { signCallback } from '../../services/app/src/wallet/providers';
import { expectProblem, smsOutbox, uniquePhone } from './support';

const HOSTED_KEY = 'hosted-provider-key-0123456789';
const PAYMENTS = { PAYMENT_PROVIDERS: 'dev,hosted', PAYMENT_HOSTED_URL: 'https://pay.example/checkout', PAYMENT_HOSTED_SIGNING_KEY: HOSTED_KEY };

interface Wallet {
  balanceFen: number;
  depositFen: number;
  debtFen: number;
}

describe('wallet, top-ups, licence and operator actions', () => {
  let platform: TestPlatform;
  let gw: string;
  let admin: string;
  const members: Array<{ id: string; key: string; phone: string }> = [];

  const newMember = async () => {
    const phone = uniquePhone();
    const created = await request(`${gw}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(admin),
      body: { phone, displayName: 'Wallet Tester', password: 'wallet-tester-pw' },
    });
    expect(created.status).toBe(201);
    return { id: created.json<{ id: string }>().id, phone, key: await login(gw, phone, 'wallet-tester-pw') };
  };
  const wallet = async (key: string) => (await request(`${gw}/api/v1/wallet`, { headers: bearer(key) })).json<Wallet>();
  const topUp = (key: string, body: unknown, idempotencyKey: string | null = randomUUID()) =>
    request(`${gw}/api/v1/wallet/top-ups`, {
      method: 'POST',
      headers: { ...bearer(key), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      body,
    });
  const callback = (body: Record<string, string | number>, provider = 'hosted') =>
    request(`${gw}/api/v1/payments/callback/${provider}`, { method: 'POST', body });

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 2, env: PAYMENTS });
    gw = platform.stack.gatewayUrl;
    admin = await login(gw, platform.admin.account, platform.admin.password);
    members.push(await newMember(), await newMember());
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('a dev top-up credits once per Idempotency-Key', async () => {
    const { key } = members[0]!;
    const idem = randomUUID();
    const first = await topUp(key, { amountFen: 10_000, provider: 'dev' }, idem);
    expect(first.status).toBe(201);
    expect(first.json()).toMatchObject({ amountFen: 10_000, status: 'succeeded', provider: 'dev' });
    const again = await topUp(key, { amountFen: 10_000, provider: 'dev' }, idem);
    expect(again.status).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    expectProblem(await topUp(key, { amountFen: 20_000, provider: 'dev' }, idem), 409);
    expect(await wallet(key)).toEqual({ balanceFen: 10_000, depositFen: 0, debtFen: 0 });
    const ledger = (await request(`${gw}/api/v1/wallet/ledger`, { headers: bearer(key) })).json<{ items: Array<{ reference: string; amountFen: number }> }>();
    expect(ledger.items).toEqual([expect.objectContaining({ reference: `topup:${first.json<{ id: string }>().id}`, amountFen: 10_000, kind: 'top-up' })]);
  });

  it('a hosted top-up is credited by its signed callback, once, and only with the right signature and amount', async () => {
    const { key } = members[1]!;
    const started = await topUp(key, { amountFen: 5_000, provider: 'hosted' });
    expect(started.status).toBe(201);
    const payment = started.json<{ id: string; status: string; next: { url: string } }>();
    expect(payment.status).toBe('pending');
    expect(payment.next.url).toContain(payment.id);

    const fields = {
      paymentId: payment.id,
      providerRef: `PAY-${payment.id.slice(0, 8)}`,
      amountFen: 5_000,
      status: 'succeeded',
      timestamp: Math.floor(Date.now() / 1000),
    };
    expectProblem(await callback({ ...fields, sign: signCallback('wrong-key-0123456789', fields) }), 401);
    const wrongAmount = { ...fields, amountFen: 50_000 };
    expectProblem(await callback({ ...wrongAmount, sign: signCallback(HOSTED_KEY, wrongAmount) }), 409);
    expect(await wallet(key)).toMatchObject({ balanceFen: 0 });

    const signed = { ...fields, sign: signCallback(HOSTED_KEY, fields) };
    const replies = await Promise.all([callback(signed), callback(signed), callback(signed)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await wallet(key)).toEqual({ balanceFen: 5_000, depositFen: 0, debtFen: 0 });
    expect((await callback(signed)).status).toBe(200);
    expect(await wallet(key)).toMatchObject({ balanceFen: 5_000 });
    expect((await request(`${gw}/api/v1/wallet/top-ups/${payment.id}`, { headers: bearer(key) })).json()).toMatchObject({ status: 'succeeded' });
    // Another member cannot see the payment.
    expectProblem(await request(`${gw}/api/v1/wallet/top-ups/${payment.id}`, { headers: bearer(members[0]!.key) }), 404);
  });

  it.each([
    ['zero', { amountFen: 0, provider: 'dev' }, 'body.amountFen'],
    ['negative', { amountFen: -100, provider: 'dev' }, 'body.amountFen'],
    ['fractional fen', { amountFen: 10.5, provider: 'dev' }, 'body.amountFen'],
    ['money as text', { amountFen: '100', provider: 'dev' }, 'body.amountFen'],
    ['over the maximum', { amountFen: 1_000_001, provider: 'dev' }, 'body.amountFen'],
    ['an unknown provider', { amountFen: 100, provider: 'cash' }, 'body.provider'],
    ['an unknown field', { amountFen: 100, provider: 'dev', bonus: 1 }, 'body'],
  ])('a top-up with %s is refused', async (_name, body, field) => {
    expectProblem(await topUp(members[0]!.key, body), 400, field);
  });

  it('a top-up needs a well-formed Idempotency-Key', async () => {
    expectProblem(await topUp(members[0]!.key, { amountFen: 100, provider: 'dev' }, null), 400, 'header.idempotency-key');
    expectProblem(await topUp(members[0]!.key, { amountFen: 100, provider: 'dev' }, 'short'), 400, 'header.idempotency-key');
  });

  it('callbacks: unknown provider 404, malformed 400', async () => {
    // The body is checked against the declared callback shape first, so a well-formed one.
    const wellFormed = {
      paymentId: randomUUID(),
      providerRef: 'ref-1',
      amountFen: 100,
      status: 'succeeded',
      timestamp: Math.floor(Date.now() / 1000),
      sign: 'a'.repeat(64),
    };
    expectProblem(await callback(wellFormed, 'dev'), 404);
    expectProblem(await callback(wellFormed, 'nobody'), 404);
    expectProblem(await callback({ paymentId: 'x', amountFen: 1 }), 400, 'body.paymentId');
  });

  it('moves money to the deposit only from a sufficient balance', async () => {
    const { key } = members[0]!;
    expectProblem(await request(`${gw}/api/v1/wallet/deposit`, { method: 'POST', headers: bearer(key), body: { amountFen: 10_001 } }), 409);
    const moved = await request(`${gw}/api/v1/wallet/deposit`, {
      method: 'POST',
      headers: { ...bearer(key), 'idempotency-key': 'deposit-0001' },
      body: { amountFen: 4_000 },
    });
    expect(moved.status).toBe(201);
    expect(
      (
        await request(`${gw}/api/v1/wallet/deposit`, {
          method: 'POST',
          headers: { ...bearer(key), 'idempotency-key': 'deposit-0001' },
          body: { amountFen: 4_000 },
        })
      ).status,
    ).toBe(200);
    expect(await wallet(key)).toEqual({ balanceFen: 6_000, depositFen: 4_000, debtFen: 0 });
  });

  it('a charge beyond the balance becomes a debt, sends the debt SMS and a receipt notice', async () => {
    const { id, key, phone } = members[1]!;
    const posted = await request(`${gw}/api/v1/admin/members/${id}/deductions`, {
      method: 'POST',
      headers: { ...bearer(admin), 'idempotency-key': 'damage-0001' },
      body: { kind: 'damage', amountFen: 8_000, description: 'Scratched door' },
    });
    expect(posted.status).toBe(202);
    // The operator retries the same post: the same reference, charged once.
    await request(`${gw}/api/v1/admin/members/${id}/deductions`, {
      method: 'POST',
      headers: { ...bearer(admin), 'idempotency-key': 'damage-0001' },
      body: { kind: 'damage', amountFen: 8_000, description: 'Scratched door' },
    });
    await eventually(async () => expect(await wallet(key)).toEqual({ balanceFen: -3_000, depositFen: 0, debtFen: 3_000 }), 10_000);
    await eventually(async () => {
      const outbox = await smsOutbox(gw, admin, phone);
      expect(outbox).toEqual([expect.objectContaining({ template: 'debt', status: 'sent', body: expect.stringContaining('¥30.00') })]);
    }, 10_000);
    const sync = (await request(`${gw}/api/v1/sync`, { headers: bearer(key) })).json<{ notifications: Array<{ kind: string; body: { amountFen: number } }> }>();
    expect(sync.notifications.filter((n) => n.kind === 'receipt')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ amountFen: -8_000, debtFen: 3_000 }) }),
    ]);
    // A refund pays the debt off.
    await request(`${gw}/api/v1/admin/members/${id}/deductions`, {
      method: 'POST',
      headers: bearer(admin),
      body: { kind: 'refund', amountFen: 3_000, description: 'Goodwill' },
    });
    await eventually(async () => expect(await wallet(key)).toEqual({ balanceFen: 0, depositFen: 0, debtFen: 0 }), 10_000);
  });

  it('an operator SMS goes through the queue to the outbox', async () => {
    const { id, phone } = members[0]!;
    expect(
      (await request(`${gw}/api/v1/admin/members/${id}/sms`, { method: 'POST', headers: bearer(admin), body: { text: 'Station A closes at 22:00' } })).status,
    ).toBe(202);
    await eventually(
      async () =>
        expect(await smsOutbox(gw, admin, phone)).toEqual([
          expect.objectContaining({ template: 'operator-notice', status: 'sent', body: '【evshare】Station A closes at 22:00' }),
        ]),
      10_000,
    );
  });

  it('licence: submitted by the member, reviewed by an operator', async () => {
    const { id, key } = members[0]!;
    const put = (body: unknown) => request(`${gw}/api/v1/me/licence`, { method: 'PUT', headers: bearer(key), body });
    expectProblem(await put({ number: 'AB', expiresOn: '2099-01-01' }), 400, 'body.number');
    expectProblem(await put({ number: '310101199001011234', expiresOn: '2020-01-01' }), 400, 'body.expiresOn');
    expectProblem(await put({ number: '310101199001011234', expiresOn: '2099-02-30' }), 400, 'body.expiresOn');
    const submitted = await put({ number: '310101199001011234', expiresOn: '2099-01-01' });
    expect(submitted.json()).toMatchObject({ status: 'pending', number: '310101199001011234', expiresOn: '2099-01-01' });
    const review = (who: string, body: unknown) => request(`${gw}/api/v1/admin/members/${id}/licence`, { method: 'POST', headers: bearer(who), body });
    expectProblem(await review(key, { decision: 'approve' }), 403);
    expectProblem(await review(admin, { decision: 'reject' }), 400, 'body.reason');
    expect((await review(admin, { decision: 'approve' })).json()).toMatchObject({ status: 'approved' });
    expectProblem(await review(admin, { decision: 'approve' }), 409);
  });

  it('members cannot use operator endpoints or read another member', async () => {
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    for (const path of [`/api/v1/admin/members/${b.id}/wallet`, `/api/v1/admin/members/${b.id}/ledger`, '/api/v1/admin/sms']) {
      expectProblem(await request(`${gw}${path}`, { headers: bearer(a.key) }), 403);
    }
    for (const path of ['deductions', 'sms', 'suspend', 'reactivate']) {
      expectProblem(await request(`${gw}/api/v1/admin/members/${b.id}/${path}`, { method: 'POST', headers: bearer(a.key), body: {} }), 403);
    }
    const own = (await request(`${gw}/api/v1/wallet/ledger`, { headers: bearer(b.key) })).json<{ items: Array<{ reference: string }> }>();
    expect(own.items.every((e) => !e.reference.startsWith(`deposit:${a.id}`))).toBe(true);
    expectProblem(await request(`${gw}/api/v1/wallet/ledger?limit=0`, { headers: bearer(a.key) }), 400, 'query.limit');
    expectProblem(await request(`${gw}/api/v1/wallet/ledger?mine=no`, { headers: bearer(a.key) }), 400, 'query');
    expectProblem(await request(`${gw}/api/v1/admin/sms?phone=12ab`, { headers: bearer(admin) }), 400, 'query.phone');
    expectProblem(await request(`${gw}/api/v1/admin/members/not-a-uuid/wallet`, { headers: bearer(admin) }), 400, 'path.id');
    expectProblem(await request(`${gw}/api/v1/admin/members/${randomUUID()}/wallet`, { headers: bearer(admin) }), 404);
    expectProblem(await request(`${gw}/api/v1/wallet`), 401);
  });

  it('the ledger pages backwards', async () => {
    const { key } = members[0]!;
    const first = (await request(`${gw}/api/v1/wallet/ledger?limit=1`, { headers: bearer(key) })).json<{ items: Array<{ id: number }>; nextBefore: number }>();
    expect(first.items).toHaveLength(1);
    const second = (await request(`${gw}/api/v1/wallet/ledger?limit=1&before=${first.nextBefore}`, { headers: bearer(key) })).json<{
      items: Array<{ id: number }>;
      nextBefore: number | null;
    }>();
    expect(second.items[0]!.id).toBeLessThan(first.items[0]!.id);
    expect(second.nextBefore).toBeNull();
  });

  it('suspension ends the sessions; reactivation allows login again', async () => {
    const { id, phone } = members[1]!;
    const key = await login(gw, phone, 'wallet-tester-pw');
    expect(
      (await request(`${gw}/api/v1/admin/members/${id}/suspend`, { method: 'POST', headers: bearer(admin), body: { reason: 'unpaid damage' } })).status,
    ).toBe(200);
    await eventually(async () => expectProblem(await request(`${gw}/api/v1/wallet`, { headers: bearer(key) }), 401), 2_000);
    expectProblem(await request(`${gw}/api/v1/auth/login`, { method: 'POST', body: { account: phone, password: 'wallet-tester-pw' } }), 403);
    expectProblem(await request(`${gw}/api/v1/admin/members/${id}/suspend`, { method: 'POST', headers: bearer(admin), body: { reason: 'again' } }), 409);
    expect((await request(`${gw}/api/v1/admin/members/${id}/reactivate`, { method: 'POST', headers: bearer(admin), body: {} })).status).toBe(200);
    members[1]!.key = await login(gw, phone, 'wallet-tester-pw');
  });
});
