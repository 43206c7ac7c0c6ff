/**
 * Sessions and money, adversarially, against the real running platform (2 APP instances, the
 * gateway, auth, heartbeat, billing on real PostgreSQL, Redis and NATS):
 *
 * - generated interleavings of login, poll (on either instance), push connections, logout,
 *   password change, suspension and reactivation by an operator, and deregistration, some of them
 *   racing each other. Property: once a revoking call has answered, the revoked key never answers
 *   2xx again on any instance, and each of its push sockets is closed with 4401 within 1 s;
 * - generated top-ups through the hosted provider (a fake payment provider as a real HTTP server:
 *   its payment page is where the member is sent, and it sends the signed callbacks), callbacks
 *   replayed, reordered, raced and forged, operator deductions and refunds with repeated
 *   Idempotency-Keys. Property: every member's ledger is an unbroken chain whose sum is the
 *   balance, every credit has its succeeded payment and every charge its reference, once.
 *
 *   FUZZ_SEED=… replays a run; FUZZ_RUNS=… or FUZZ_SECONDS=… (make fuzz) run more cases.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { createPool, type Pool } from '@evshare/kit';
import { signCallback } from '../../services/app/src/wallet/providers';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { bearer, eventually, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { messageText } from '../support/ws';

/** The promise: a revoked key is dead on every instance and the push channel within 1 s. */
const REVOCATION_BOUND_MS = 1000;

jest.setTimeout(fuzzTimeout(120_000));

const HOSTED_KEY = 'fuzz-hosted-provider-key-0123456789';

/** The outside party: a payment provider's hosted page, and the signed callbacks it sends. */
async function startFakeProvider() {
  const visits: Array<{ paymentId: string; amountFen: number }> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://provider');
    if (req.method === 'GET' && url.pathname === '/checkout') {
      visits.push({ paymentId: url.searchParams.get('payment') ?? '', amountFen: Number(url.searchParams.get('amountFen')) });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Pay</p>');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checkout`;
  let callbackUrl = '';
  return {
    url,
    visits,
    target(gateway: string) {
      callbackUrl = `${gateway}/api/v1/payments/callback/hosted`;
    },
    /** The provider's callback, as it would send it (fields signed with its key, unless forged). */
    signed(fields: { paymentId: string; providerRef: string; amountFen: number; status: 'succeeded' | 'failed'; timestamp?: number }, key = HOSTED_KEY) {
      const body = { ...fields, timestamp: fields.timestamp ?? Math.floor(Date.now() / 1000) };
      return { ...body, sign: signCallback(key, body) };
    },
    send: (body: Record<string, unknown>) => request(callbackUrl, { method: 'POST', body, timeoutMs: 20_000 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('sessions and money, adversarially', () => {
  let platform: TestPlatform;
  let provider: Awaited<ReturnType<typeof startFakeProvider>>;
  let gateway: string;
  let appUrls: string[];
  let db: Pool;
  let admin = '';
  let phoneSerial = Math.floor(Math.random() * 1e5);
  const touchedMembers: string[] = [];

  beforeAll(async () => {
    provider = await startFakeProvider();
    // Every service its own process, as in a cluster: separate caches and bus connections.
    platform = await startTestPlatform({
      mode: 'processes',
      appInstances: 2,
      // Every case's member and addresses are new; the throttle is not what is tested here.
      env: { PAYMENT_PROVIDERS: 'hosted', PAYMENT_HOSTED_URL: provider.url, PAYMENT_HOSTED_SIGNING_KEY: HOSTED_KEY, LOGIN_MAX_FAILURES_PER_ADDRESS: '100000' },
    });
    gateway = platform.stack.gatewayUrl;
    provider.target(gateway);
    appUrls = platform.stack.appIds().map((id) => platform.stack.urls()[id]!);
    db = createPool(platform.env.DATABASE_URL!, { max: 2 });
    admin = await login(gateway, platform.admin.account, platform.admin.password);
  });
  afterAll(async () => {
    await db?.end();
    await platform?.stop();
    await provider?.close();
  });

  const newMember = async (password: string) => {
    phoneSerial += 1;
    const phone = `137${String(phoneSerial).padStart(8, '0')}`;
    const created = await request(`${gateway}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(admin),
      body: { phone, displayName: 'Fuzz', password },
    });
    if (created.status !== 201) throw new Error(`member not created: ${created.status} ${created.body}`);
    const id = created.json<{ id: string }>().id;
    touchedMembers.push(id);
    return { phone, id };
  };

  // ------------------------------------------------------------------------------------ sessions

  type SessionOp =
    | { t: 'login' }
    | { t: 'poll'; key: number; app: number }
    | { t: 'push'; key: number }
    | { t: 'logout'; key: number }
    | { t: 'password'; key: number }
    | { t: 'suspend' }
    | { t: 'reactivate' }
    | { t: 'deregister'; key: number };
  /** A step is one call, or an access racing another call. */
  type Step = { ops: [SessionOp] | [SessionOp, SessionOp] };

  const keyRef = fc.nat(7);
  const access = fc.oneof(
    fc.record({ t: fc.constant('poll' as const), key: keyRef, app: fc.nat(1) }),
    fc.record({ t: fc.constant('push' as const), key: keyRef }),
  );
  const anyOp: fc.Arbitrary<SessionOp> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ t: 'login' as const }) },
    { weight: 4, arbitrary: access },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('logout' as const), key: keyRef }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('password' as const), key: keyRef }) },
    { weight: 1, arbitrary: fc.constant({ t: 'suspend' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reactivate' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('deregister' as const), key: keyRef }) },
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: anyOp.map((op) => ({ ops: [op] as [SessionOp] })) },
    { weight: 2, arbitrary: fc.tuple(access, anyOp).map(([a, b]) => ({ ops: [a, b] as [SessionOp, SessionOp] })) },
  );

  interface Key {
    key: string;
    /** When the call that revoked it answered (epoch ms); undefined while live. */
    revokedAt?: number;
  }
  interface Socket {
    key: Key;
    socket: WebSocket;
    welcomed: boolean;
    closed?: { code: number; at: number };
    done: Promise<void>;
  }

  const openPush = async (key: Key): Promise<Socket> => {
    const socket = new WebSocket(`${gateway.replace('http', 'ws')}/push`, { headers: { cookie: `evs_session=${key.key}` } });
    const entry: Socket = { key, socket, welcomed: false, done: Promise.resolve() };
    entry.done = new Promise<void>((resolve) => {
      socket.on('close', (code) => {
        entry.closed = { code, at: Date.now() };
        resolve();
      });
      socket.on('error', () => undefined);
    });
    socket.on('message', (data) => {
      if ((JSON.parse(messageText(data)) as { type?: string }).type === 'welcome') entry.welcomed = true;
    });
    await Promise.race([
      entry.done,
      eventually(
        () => {
          if (!entry.welcomed) throw new Error('no welcome yet');
        },
        3000,
        10,
      ),
    ]);
    return entry;
  };

  it('no revoked key ever answers 2xx afterwards, on any instance, and its push sockets close with 4401 within 1 s', async () => {
    await checkProperty('sessions: revoked keys stay dead', 20, fc.array(step, { minLength: 4, maxLength: 12 }), async (steps) => {
      let password = `pw-${randomUUID()}`;
      const member = await newMember(password);
      let status: 'active' | 'suspended' | 'deregistered' = 'active';
      const keys: Key[] = [];
      const sockets: Socket[] = [];
      const failures: string[] = [];
      const fail = (message: string) => failures.push(message);
      const pick = (i: number) => (keys.length ? keys[i % keys.length] : undefined);
      const revokeAll = (at: number, except?: Key) => {
        for (const k of keys) if (k !== except && k.revokedAt === undefined) k.revokedAt = at;
      };
      admin = await login(gateway, platform.admin.account, platform.admin.password);

      const run = async (op: SessionOp, racing: boolean): Promise<void> => {
        const startedAt = Date.now();
        // A revocation reaches every instance within REVOCATION_BOUND_MS (the bus broadcast, or at
        // worst the instances' short session cache expiring): from then on the key is dead everywhere.
        const deadBefore = (k: Key) => k.revokedAt !== undefined && k.revokedAt + REVOCATION_BOUND_MS < startedAt;
        switch (op.t) {
          case 'login': {
            const reply = await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account: member.phone, password } });
            const expected = status === 'active' ? 200 : status === 'suspended' ? 403 : 401;
            if (reply.status !== expected) fail(`login as ${status}: ${reply.status}, expected ${expected}`);
            if (reply.status === 200) keys.push({ key: reply.json<{ sessionKey: string }>().sessionKey });
            return;
          }
          case 'poll': {
            const k = pick(op.key);
            if (!k) return;
            const reply = await request(`${appUrls[op.app % appUrls.length]}/api/v1/sync`, { headers: bearer(k.key) });
            if (deadBefore(k) && reply.status !== 401) fail(`revoked key polled app ${op.app}: ${reply.status}`);
            if (!racing && k.revokedAt === undefined && reply.status !== 200) fail(`live key polled: ${reply.status} ${reply.body}`);
            return;
          }
          case 'push': {
            const k = pick(op.key);
            if (!k) return;
            const entry = await openPush(k);
            sockets.push(entry);
            if (deadBefore(k) && entry.welcomed) fail('revoked key was welcomed on the push channel');
            if (!racing && k.revokedAt === undefined && !entry.welcomed) fail(`live key not welcomed: closed ${JSON.stringify(entry.closed)}`);
            return;
          }
          case 'logout': {
            const k = pick(op.key);
            if (!k) return;
            const reply = await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers: bearer(k.key) });
            if (reply.status === 204) k.revokedAt ??= Date.now();
            else if (reply.status !== 401 || k.revokedAt === undefined) fail(`logout: ${reply.status}`);
            return;
          }
          case 'password': {
            const k = pick(op.key);
            if (!k) return;
            const next = `pw-${randomUUID()}`;
            const reply = await request(`${gateway}/api/v1/auth/password`, {
              method: 'POST',
              headers: bearer(k.key),
              body: { currentPassword: password, newPassword: next },
            });
            if (reply.status === 200) {
              password = next;
              const fresh: Key = { key: reply.json<{ sessionKey: string }>().sessionKey };
              revokeAll(Date.now());
              keys.push(fresh);
            } else if (reply.status !== 401 || k.revokedAt === undefined) fail(`password change: ${reply.status} ${reply.body}`);
            return;
          }
          case 'suspend': {
            const reply = await request(`${gateway}/api/v1/admin/members/${member.id}/suspend`, {
              method: 'POST',
              headers: bearer(admin),
              body: { reason: 'fuzz' },
            });
            if (status === 'active' && reply.status === 200) {
              status = 'suspended';
              revokeAll(Date.now());
            } else if (status !== 'active' && reply.status === 409) return;
            else fail(`suspend while ${status}: ${reply.status}`);
            return;
          }
          case 'reactivate': {
            const reply = await request(`${gateway}/api/v1/admin/members/${member.id}/reactivate`, { method: 'POST', headers: bearer(admin), body: {} });
            if (status === 'suspended' && reply.status === 200) status = 'active';
            else if (status !== 'suspended' && reply.status === 409) return;
            else fail(`reactivate while ${status}: ${reply.status}`);
            return;
          }
          case 'deregister': {
            const k = pick(op.key);
            if (!k) return;
            const reply = await request(`${gateway}/api/v1/auth/deregister`, { method: 'POST', headers: bearer(k.key), body: { password } });
            if (reply.status === 204) {
              status = 'deregistered';
              revokeAll(Date.now());
            } else if (reply.status !== 401 || k.revokedAt === undefined) fail(`deregister: ${reply.status} ${reply.body}`);
            return;
          }
        }
      };

      try {
        for (const { ops } of steps) {
          // Revoking calls never race each other here (the model would not know the order);
          // an access races any call.
          await Promise.all(ops.map((op) => run(op, ops.length > 1)));
          // Afterwards: every revoked key is refused by every instance within the bound, and for good.
          for (const k of keys.filter((key) => key.revokedAt !== undefined)) {
            for (const [i, url] of appUrls.entries()) {
              let reply = await request(`${url}/api/v1/me`, { headers: bearer(k.key) });
              while (reply.status !== 401 && Date.now() < k.revokedAt! + REVOCATION_BOUND_MS) {
                await new Promise((resolve) => setTimeout(resolve, 20));
                reply = await request(`${url}/api/v1/me`, { headers: bearer(k.key) });
              }
              if (reply.status !== 401) fail(`revoked key answered ${reply.status} on app ${i} ${Date.now() - k.revokedAt!} ms after the revocation`);
            }
          }
          if (failures.length) break;
        }
        // Every push socket of a revoked key is closed with 4401 within 1 s of the revocation.
        await Promise.all(
          sockets
            .filter((s) => s.key.revokedAt !== undefined)
            .map((s) => Promise.race([s.done, new Promise((resolve) => setTimeout(resolve, Math.max(0, s.key.revokedAt! + 1000 - Date.now()) + 50))])),
        );
        for (const s of sockets.filter((entry) => entry.key.revokedAt !== undefined)) {
          if (!s.closed) fail('push socket of a revoked key still open after 1 s');
          else if (s.closed.code !== 4401) fail(`push socket of a revoked key closed with ${s.closed.code}`);
          else if (s.welcomed && s.closed.at - s.key.revokedAt! > 1000) fail(`push socket closed ${s.closed.at - s.key.revokedAt!} ms after the revocation`);
        }
        for (const s of sockets.filter((entry) => entry.key.revokedAt === undefined && entry.welcomed)) {
          if (s.closed) fail(`push socket of a live key closed with ${s.closed.code}`);
        }
      } finally {
        for (const s of sockets) s.socket.terminate();
      }
      if (failures.length) throw new Error(failures.join('\n'));
    });
  });

  // --------------------------------------------------------------------------------------- money

  type MoneyOp =
    | { t: 'top-up'; amountFen: number; reuse: number | null }
    | { t: 'pay'; payment: number; outcome: 'succeeded' | 'failed' }
    | { t: 'replay'; callback: number }
    | { t: 'forge'; payment: number; how: 'bad-sign' | 'wrong-key' | 'stale' | 'amount' | 'unknown-payment' | 'other-field' }
    | { t: 'deduction'; kind: 'manual' | 'damage' | 'refund'; amountFen: number; reuse: number | null };

  const amount = fc.integer({ min: 1, max: 50_000 });
  const moneyOp: fc.Arbitrary<MoneyOp> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ t: fc.constant('top-up' as const), amountFen: amount, reuse: fc.option(fc.nat(5), { freq: 4 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('pay' as const),
        payment: fc.nat(7),
        outcome: fc.constantFrom('succeeded' as const, 'succeeded' as const, 'failed' as const),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('replay' as const), callback: fc.nat(9) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('forge' as const),
        payment: fc.nat(7),
        how: fc.constantFrom(
          'bad-sign' as const,
          'wrong-key' as const,
          'stale' as const,
          'amount' as const,
          'unknown-payment' as const,
          'other-field' as const,
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('deduction' as const),
        kind: fc.constantFrom('manual' as const, 'damage' as const, 'refund' as const),
        amountFen: amount,
        reuse: fc.option(fc.nat(5), { freq: 4 }),
      }),
    },
  );
  /** Ops in batches run concurrently (reordering and racing callbacks and deductions). */
  const batches = fc.array(fc.array(moneyOp, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 6 });

  interface LedgerLine {
    reference: string;
    kind: string;
    amountFen: number;
    balanceAfterFen: number;
    debtAfterFen: number;
  }

  /** The ledger invariants for one member; returns what is wrong. */
  const auditMember = async (memberId: string): Promise<string[]> => {
    const wrong: string[] = [];
    const { rows: lines } = await db.query<LedgerLine>(
      `SELECT reference, kind, amount_fen::int AS "amountFen", balance_after_fen::int AS "balanceAfterFen", debt_after_fen::int AS "debtAfterFen"
         FROM ledger WHERE member_id = $1 ORDER BY id`,
      [memberId],
    );
    const { rows } = await db.query<{ balanceFen: number; debtFen: number; depositFen: number }>(
      'SELECT wallet_balance_fen::int AS "balanceFen", debt_fen::int AS "debtFen", deposit_fen::int AS "depositFen" FROM members WHERE id = $1',
      [memberId],
    );
    const wallet = rows[0]!;
    let balance = 0;
    for (const line of lines) {
      balance += line.amountFen;
      if (line.balanceAfterFen !== balance) wrong.push(`${line.reference}: balance after ${line.balanceAfterFen}, chain says ${balance}`);
      if (line.debtAfterFen !== Math.max(0, -balance)) wrong.push(`${line.reference}: debt after ${line.debtAfterFen} for balance ${balance}`);
    }
    if (balance !== wallet.balanceFen) wrong.push(`ledger sums to ${balance}, balance is ${wallet.balanceFen}`);
    if (wallet.debtFen !== Math.max(0, -wallet.balanceFen)) wrong.push(`debt ${wallet.debtFen} for balance ${wallet.balanceFen}`);
    if (new Set(lines.map((l) => l.reference)).size !== lines.length) wrong.push('a reference is booked twice');
    // Every credit from a payment has its succeeded payment, with its amount; nothing else is credited.
    const { rows: payments } = await db.query<{ id: string; status: string; amountFen: number }>(
      'SELECT id, status, amount_fen::int AS "amountFen" FROM payments WHERE member_id = $1',
      [memberId],
    );
    const topUps = new Map(lines.filter((l) => l.kind === 'top-up').map((l) => [l.reference, l.amountFen]));
    for (const p of payments) {
      const credited = topUps.get(`topup:${p.id}`);
      if (p.status === 'succeeded' && credited !== p.amountFen) wrong.push(`payment ${p.id} succeeded for ${p.amountFen}, credited ${credited}`);
      if (p.status !== 'succeeded' && credited !== undefined) wrong.push(`payment ${p.id} is ${p.status} but credited ${credited}`);
      topUps.delete(`topup:${p.id}`);
    }
    if (topUps.size) wrong.push(`credits without a payment: ${[...topUps.keys()].join(', ')}`);
    return wrong;
  };

  it('the ledger always balances: no money moves without a ledger line, nothing moves twice', async () => {
    await checkProperty('money: ledger balances under replayed, reordered and forged callbacks', 15, batches, async (plan) => {
      const member = await newMember('money-password');
      const key = await login(gateway, member.phone, 'money-password');
      admin = await login(gateway, platform.admin.account, platform.admin.password);
      const payments: Array<{ id: string; amountFen: number; idempotencyKey: string }> = [];
      const callbacks: Array<{ body: Record<string, unknown>; status: number }> = [];
      const deductionKeys: Array<{ key: string; kind: string; amountFen: number }> = [];
      /** What the ledger must hold for operator postings: reference → signed amount (the first post wins). */
      const expectedAdmin = new Map<string, number>();
      const failures: string[] = [];
      const fail = (message: string) => failures.push(message);
      const expectStatus = (what: string, reply: Reply, allowed: number[]) => {
        if (!allowed.includes(reply.status)) fail(`${what}: ${reply.status} ${reply.body}`);
        else if (reply.status >= 400 && !String(reply.headers['content-type']).startsWith('application/problem+json'))
          fail(`${what}: ${reply.status} is not problem+json`);
      };

      const run = async (op: MoneyOp, known: { payments: number; callbacks: number; deductionKeys: number }) => {
        switch (op.t) {
          case 'top-up': {
            const reused = op.reuse !== null && op.reuse < known.payments ? payments[op.reuse] : undefined;
            const idempotencyKey = reused?.idempotencyKey ?? `fuzz-${randomUUID()}`;
            const reply = await request(`${gateway}/api/v1/wallet/top-ups`, {
              method: 'POST',
              headers: { ...bearer(key), 'idempotency-key': idempotencyKey },
              body: { amountFen: op.amountFen, provider: 'hosted' },
            });
            if (reused && reused.amountFen !== op.amountFen) return expectStatus('top-up, key reused for another amount', reply, [409]);
            expectStatus(reused ? 'top-up, key reused' : 'top-up', reply, reused ? [200] : [201]);
            const started = reply.json<{ id: string; status: string; next?: { url: string } }>();
            if (reused) {
              if (started.id !== reused.id) fail('a reused Idempotency-Key started another payment');
              return;
            }
            if (started.status !== 'pending' || !started.next) return fail(`hosted top-up not pending: ${reply.body}`);
            // The member's browser goes to the provider's page.
            const page = await request(started.next.url);
            if (page.status !== 200) fail(`payment page: ${page.status}`);
            payments.push({ id: started.id, amountFen: op.amountFen, idempotencyKey });
            return;
          }
          case 'pay': {
            if (known.payments === 0) return;
            const p = payments[op.payment % known.payments]!;
            const body = provider.signed({
              paymentId: p.id,
              providerRef: `fake-${p.id.slice(0, 8)}-${op.outcome}`,
              amountFen: p.amountFen,
              status: op.outcome,
            });
            const reply = await provider.send(body);
            // 409: the payment had already ended the other way.
            expectStatus('callback', reply, [200, 409]);
            callbacks.push({ body, status: reply.status });
            return;
          }
          case 'replay': {
            if (known.callbacks === 0) return;
            const c = callbacks[op.callback % known.callbacks]!;
            const reply = await provider.send(c.body);
            // A replay of an accepted callback is accepted again (and changes nothing).
            expectStatus('replayed callback', reply, c.status === 200 ? [200] : [409]);
            return;
          }
          case 'forge': {
            const p = known.payments ? payments[op.payment % known.payments]! : { id: randomUUID(), amountFen: 100 };
            const fields = { paymentId: p.id, providerRef: 'forged-1', amountFen: p.amountFen, status: 'succeeded' as const };
            let body: Record<string, unknown>;
            let allowed: number[];
            if (op.how === 'bad-sign') {
              const good = provider.signed(fields);
              body = { ...good, sign: `${good.sign[0] === 'a' ? 'b' : 'a'}${good.sign.slice(1)}` };
              allowed = [401];
            } else if (op.how === 'wrong-key') {
              body = provider.signed(fields, 'not-the-provider-key-0123456789');
              allowed = [401];
            } else if (op.how === 'stale') {
              body = provider.signed({ ...fields, timestamp: Math.floor(Date.now() / 1000) - 20 * 60 });
              allowed = [401];
            } else if (op.how === 'amount') {
              // Validly signed (a leaked key) but for more money than the payment: refused.
              body = provider.signed({ ...fields, amountFen: p.amountFen + 1 });
              allowed = known.payments ? [409] : [404];
            } else if (op.how === 'unknown-payment') {
              body = provider.signed({ ...fields, paymentId: randomUUID() });
              allowed = [404];
            } else {
              // A signed callback with one field changed after signing.
              body = { ...provider.signed(fields), amountFen: p.amountFen * 2 };
              allowed = [401];
            }
            expectStatus(`forged callback (${op.how})`, await provider.send(body), allowed);
            return;
          }
          case 'deduction': {
            const reused = op.reuse !== null && op.reuse < known.deductionKeys ? deductionKeys[op.reuse] : undefined;
            const idempotencyKey = reused?.key ?? `fuzz-${randomUUID()}`;
            const reply = await request(`${gateway}/api/v1/admin/members/${member.id}/deductions`, {
              method: 'POST',
              headers: { ...bearer(admin), 'idempotency-key': idempotencyKey },
              body: { kind: op.kind, amountFen: op.amountFen, description: 'fuzz' },
            });
            expectStatus('deduction', reply, [202]);
            const { reference } = reply.json<{ reference: string }>();
            if (!reused) {
              deductionKeys.push({ key: idempotencyKey, kind: op.kind, amountFen: op.amountFen });
              expectedAdmin.set(reference, op.kind === 'refund' ? op.amountFen : -op.amountFen);
            }
            return;
          }
        }
      };

      for (const batch of plan) {
        const known = { payments: payments.length, callbacks: callbacks.length, deductionKeys: deductionKeys.length };
        // Top-ups start in order (a reused key refers to an earlier one); the rest race.
        for (const op of batch.filter((o) => o.t === 'top-up')) await run(op, { ...known, payments: payments.length });
        await Promise.all(batch.filter((o) => o.t !== 'top-up').map((op) => run(op, known)));
      }
      if (failures.length) throw new Error(failures.join('\n'));

      // The deductions go through the queue: wait until billing has applied each reference once.
      await eventually(
        async () => {
          const { rows } = await db.query<{ reference: string }>(`SELECT reference FROM ledger WHERE member_id = $1 AND reference LIKE 'admin:%'`, [member.id]);
          expect(rows.map((r) => r.reference).sort()).toEqual([...expectedAdmin.keys()].sort());
        },
        20_000,
        100,
      );
      const wrong = await auditMember(member.id);
      const { rows: adminLines } = await db.query<{ reference: string; amountFen: number }>(
        `SELECT reference, amount_fen::int AS "amountFen" FROM ledger WHERE member_id = $1 AND reference LIKE 'admin:%'`,
        [member.id],
      );
      for (const line of adminLines)
        if (expectedAdmin.get(line.reference) !== line.amountFen)
          wrong.push(`${line.reference}: ${line.amountFen}, expected ${expectedAdmin.get(line.reference)}`);
      // The member sees the same balance the ledger holds.
      const wallet = (await request(`${gateway}/api/v1/wallet`, { headers: bearer(key) })).json<{ balanceFen: number }>();
      const { rows } = await db.query<{ balanceFen: number }>('SELECT wallet_balance_fen::int AS "balanceFen" FROM members WHERE id = $1', [member.id]);
      if (wallet.balanceFen !== rows[0]!.balanceFen) wrong.push(`GET /wallet says ${wallet.balanceFen}, the database ${rows[0]!.balanceFen}`);
      if (wrong.length) throw new Error(wrong.join('\n'));
    });
    // And for every member the suites touched (sessions included): the ledger sums to the balance.
    for (const id of touchedMembers) expect(await auditMember(id)).toEqual([]);
  });
});
