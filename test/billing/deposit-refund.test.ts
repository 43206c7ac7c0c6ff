import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { signCallback } from '../../services/app/src/wallet/providers';
import { checkProperty } from '../support/fuzz';
import { eventually } from '../support/http';
import { expectProblem, startRentalBench, type RentalBench } from '../rental/support';

const HOSTED_KEY = 'hosted-provider-key-0123456789';

/**
 * The payment provider's refund API, as a real HTTP server (an outside party we cannot run): it
 * checks the signature, pays each refund id once, and answers as told.
 */
async function startRefundProvider() {
  const paid = new Map<string, { amountFen: number; answer: Record<string, string | number> }>();
  let behaviour: 'pay' | 'refuse' | 'down' = 'pay';
  const requests: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as { refundId: string; amountFen: number; timestamp: number; sign: string };
      requests.push(request);
      const { sign, ...fields } = request;
      if (signCallback(HOSTED_KEY, fields) !== sign) {
        res.writeHead(401).end();
        return;
      }
      if (behaviour === 'down') {
        res.writeHead(503).end();
        return;
      }
      let entry = paid.get(request.refundId);
      if (!entry) {
        const answer: Record<string, string | number> =
          behaviour === 'pay'
            ? { refundId: request.refundId, status: 'succeeded', providerRef: `R${paid.size + 1}`, timestamp: Math.floor(Date.now() / 1000) }
            : { refundId: request.refundId, status: 'failed', reason: 'the card was closed', timestamp: Math.floor(Date.now() / 1000) };
        entry = { amountFen: request.amountFen, answer: { ...answer, sign: signCallback(HOSTED_KEY, answer) } };
        paid.set(request.refundId, entry);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(entry.answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/refunds`,
    requests,
    /** What the provider paid out, per refund id. */
    payouts: () => [...paid.values()].filter((p) => p.answer.status === 'succeeded').map((p) => p.amountFen),
    set(next: typeof behaviour) {
      behaviour = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Refund {
  id: string;
  status: string;
  amountFen: number;
  failure: string | null;
  provider: string;
}

/** A member asks for their deposit back (issue 12): paid through the provider once, then renting needs a deposit again. */
describe('deposit refunds through the payment provider', () => {
  let bench: RentalBench;
  let provider: Awaited<ReturnType<typeof startRefundProvider>>;
  let station: { id: string };

  beforeAll(async () => {
    provider = await startRefundProvider();
    bench = await startRentalBench({
      appInstances: 2,
      env: {
        PAYMENT_PROVIDERS: 'dev,hosted',
        PAYMENT_HOSTED_URL: 'https://pay.example/checkout',
        PAYMENT_HOSTED_SIGNING_KEY: HOSTED_KEY,
        PAYMENT_HOSTED_REFUND_URL: provider.url,
        REFUND_RETRY_INTERVAL_MS: '500',
      },
    });
    await bench.createPlan({ depositFen: 10_000 });
    station = await bench.createStation();
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
    await provider?.close();
  });

  const refundWithoutKey = (key: string, body: unknown) => bench.api('POST', '/api/v1/wallet/deposit-refunds', key, body);
  const refundWith = (key: string, body: unknown, idempotencyKey: string) =>
    fetch(`${bench.gateway}/api/v1/wallet/deposit-refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Refund & { type?: string } }));
  const wallet = async (key: string) => (await bench.api('GET', '/api/v1/wallet', key)).json<{ balanceFen: number; depositFen: number; debtFen: number }>();
  const ledgerKinds = async (key: string) =>
    (await bench.api('GET', '/api/v1/wallet/ledger', key)).json<{ items: Array<{ kind: string; amountFen: number }> }>().items.map((e) => e.kind);

  it('pays the deposit back once however often it is asked; renting then needs a deposit again', async () => {
    const [member] = await bench.createMembers(1, { depositFen: 10_000, balanceFen: 20_000 });
    const key = randomUUID();
    const first = await refundWith(member!.key, { provider: 'hosted' }, key);
    expect(first).toMatchObject({ status: 201, json: { status: 'succeeded', amountFen: 10_000, provider: 'hosted', failure: null } });
    const repeats = await Promise.all([1, 2, 3].map(() => refundWith(member!.key, { provider: 'hosted' }, key)));
    for (const repeat of repeats) expect(repeat).toMatchObject({ status: 200, json: { id: first.json.id, status: 'succeeded' } });
    expect(provider.payouts().filter((amount) => amount === 10_000).length).toBeGreaterThanOrEqual(1);
    expect(provider.requests.filter((r) => r.refundId === first.json.id)).toHaveLength(1);
    expect(await wallet(member!.key)).toEqual({ balanceFen: 20_000, depositFen: 0, debtFen: 0 });
    expect(await ledgerKinds(member!.key)).toEqual(['deposit-refund']);
    // A new request finds nothing left to refund.
    const again = await refundWith(member!.key, { provider: 'hosted' }, randomUUID());
    expect(again).toMatchObject({ status: 409, json: { type: 'urn:evshare:problem:no-deposit' } });
    // The same key through another provider is another request.
    expect(await refundWith(member!.key, { provider: 'dev' }, key)).toMatchObject({
      status: 409,
      json: { type: 'urn:evshare:problem:idempotency-key-reused' },
    });

    const car = await bench.createVehicle(station.id);
    expectProblem(await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id }), 403, 'deposit-insufficient');
    const paid = await fetch(`${bench.gateway}/api/v1/wallet/deposit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${member!.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amountFen: 10_000 }),
    });
    expect(paid.status).toBe(201);
    expect((await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).status).toBe(201);
    const listed = (await bench.api('GET', '/api/v1/wallet/deposit-refunds', member!.key)).json<{ items: Refund[] }>().items;
    expect(listed.map((r) => r.id)).toEqual([first.json.id]);
    const [other] = await bench.createMembers(1);
    expect((await bench.api('GET', '/api/v1/wallet/deposit-refunds', other!.key)).json()).toEqual({ items: [] });
    expect((await bench.admin('GET', `/api/v1/admin/deposit-refunds?memberId=${member!.id}`)).json<{ items: Refund[] }>().items.map((r) => r.id)).toEqual([
      first.json.id,
    ]);
  }, 60_000);

  it('refused while a car is held or money is owed, with what to do; nothing changes', async () => {
    const car = await bench.createVehicle(station.id);
    const [holder] = await bench.createMembers(1);
    expect((await bench.api('POST', '/api/v1/reservations', holder!.key, { vehicleId: car.id })).status).toBe(201);
    const busy = await refundWith(holder!.key, { provider: 'dev' }, randomUUID());
    expect(busy).toMatchObject({ status: 409, json: { type: 'urn:evshare:problem:member-busy' } });
    const [debtor] = await bench.createMembers(1, { balanceFen: -500 });
    expect(await refundWith(debtor!.key, { provider: 'dev' }, randomUUID())).toMatchObject({
      status: 409,
      json: { type: 'urn:evshare:problem:debt-outstanding' },
    });
    for (const member of [holder!, debtor!]) {
      expect((await wallet(member.key)).depositFen).toBe(50_000);
      expect((await bench.api('GET', '/api/v1/wallet/deposit-refunds', member.key)).json()).toEqual({ items: [] });
    }
  });

  it('a provider that refuses: the deposit is booked back; one that is down: pending until asked again', async () => {
    const [member] = await bench.createMembers(1, { depositFen: 8_000 });
    provider.set('refuse');
    const refused = await refundWith(member!.key, { provider: 'hosted' }, randomUUID());
    expect(refused).toMatchObject({ status: 201, json: { status: 'failed', failure: 'the card was closed' } });
    expect((await wallet(member!.key)).depositFen).toBe(8_000);
    expect(await ledgerKinds(member!.key)).toEqual(['deposit-refund-reversal', 'deposit-refund']);

    provider.set('down');
    const key = randomUUID();
    const pending = await refundWith(member!.key, { provider: 'hosted' }, key);
    expect(pending).toMatchObject({ status: 201, json: { status: 'pending', amountFen: 8_000 } });
    expect((await wallet(member!.key)).depositFen).toBe(0);
    // Another key while one is on its way is told so.
    expect(await refundWith(member!.key, { provider: 'hosted' }, randomUUID())).toMatchObject({
      status: 409,
      json: { type: 'urn:evshare:problem:refund-in-progress' },
    });
    provider.set('pay');
    const settled = await refundWith(member!.key, { provider: 'hosted' }, key);
    expect(settled).toMatchObject({ status: 200, json: { id: pending.json.id, status: 'succeeded' } });
    expect((await bench.admin('GET', `/api/v1/admin/deposit-refunds?memberId=${member!.id}&status=succeeded`)).json<{ items: Refund[] }>().items).toHaveLength(
      1,
    );
  }, 60_000);

  it('a refund left pending is settled by the retry, without the member asking again, and paid once', async () => {
    const [member] = await bench.createMembers(1, { depositFen: 6_000 });
    provider.set('down');
    const pending = await refundWith(member!.key, { provider: 'hosted' }, randomUUID());
    expect(pending).toMatchObject({ status: 201, json: { status: 'pending' } });
    provider.set('pay');
    await eventually(async () => {
      const listed = (await bench.api('GET', '/api/v1/wallet/deposit-refunds', member!.key)).json<{ items: Refund[] }>().items;
      expect(listed).toEqual([expect.objectContaining({ id: pending.json.id, status: 'succeeded' })]);
    }, 10_000);
    expect(provider.requests.filter((r) => r.refundId === pending.json.id).length).toBeGreaterThanOrEqual(2);
    expect((await wallet(member!.key)).depositFen).toBe(0);
    expect(await ledgerKinds(member!.key)).toEqual(['deposit-refund']);
  }, 30_000);

  it('hostile input: a 400 naming the field, nothing refunded', async () => {
    const [member] = await bench.createMembers(1, { depositFen: 5_000 });
    const noKey = await refundWithoutKey(member!.key, { provider: 'dev' });
    expectProblem(noKey, 400, 'validation');
    const named = noKey.json<{ 'invalid-params': Array<{ name: string }> }>()['invalid-params'];
    expect(named.map((p) => p.name).join()).toMatch(/Idempotency-Key/i);
    const body = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 3 }).filter((b) => !(b.provider === 'dev' || b.provider === 'hosted')),
      fc
        .record({ provider: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)) })
        .filter((b) => b.provider !== 'dev' && b.provider !== 'hosted'),
    );
    await checkProperty('deposit refund bodies', 150, body, async (value) => {
      const reply = await refundWith(member!.key, value, randomUUID());
      if (reply.status !== 400) return false;
      const problem = reply.json as unknown as { type: string; 'invalid-params'?: Array<{ name: string }> };
      const names = (problem['invalid-params'] ?? []).map((p) => p.name);
      return problem.type === 'urn:evshare:problem:validation' && names.length > 0 && names.every((n) => n.startsWith('body'));
    });
    await checkProperty(
      'deposit refund keys',
      50,
      fc.string({ maxLength: 7 }).filter((k) => /^[\x21-\x7e]*$/.test(k)),
      async (badKey) => {
        const reply = await refundWith(member!.key, { provider: 'dev' }, badKey);
        return reply.status === 400;
      },
    );
    await checkProperty(
      'refund list filters',
      50,
      fc.record({ status: fc.string({ minLength: 1, maxLength: 8 }), limit: fc.string({ minLength: 1, maxLength: 6 }) }),
      async (q) => {
        const reply = await bench.admin('GET', `/api/v1/admin/deposit-refunds?status=${encodeURIComponent(q.status)}&limit=${encodeURIComponent(q.limit)}`);
        return reply.status === 400 || (reply.status === 200 && ['pending', 'succeeded', 'failed'].includes(q.status));
      },
    );
    expect((await wallet(member!.key)).depositFen).toBe(5_000);
    expect((await bench.api('GET', '/api/v1/wallet/deposit-refunds', member!.key)).json()).toEqual({ items: [] });
    // Members do not see the operators' list.
    expectProblem(await bench.api('GET', '/api/v1/admin/deposit-refunds', member!.key), 403);
  }, 120_000);
});
