import { appConfigSchema, startApp } from '@evshare/app';
import { createLogger, createRedisStore, parseConfig, TEST_REDIS_URL, type KeyValueStore, type RunningService } from '@evshare/kit';
import { eventually, request } from '../support/http';
import { nowIso, startChargingBench, type ChargingBench } from './support';

// Issue 11: a pile's word about money is bounded. What it reports beyond its bounds is not billed
// but held for an operator, whose decision is billed once through the deduction queue. Real
// PostgreSQL, NATS, Redis, the charging, billing and APP services.
describe('charging: what a pile can bill', () => {
  let bench: ChargingBench;
  let app: RunningService;
  let cache: KeyValueStore;

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 4 });
    cache = createRedisStore({ url: TEST_REDIS_URL, keyPrefix: `${bench.env.REDIS_KEY_PREFIX}cache:` });
    const env = { ...bench.env, PORT: '0', HOST: '127.0.0.1' };
    app = await startApp({
      config: parseConfig(appConfigSchema, env),
      log: createLogger('review-test', bench.env.LOG_LEVEL),
      db: bench.db,
      bus: bench.bus,
      sessions: bench.sessions,
      cache,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await cache?.close();
    await bench?.stop();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    request(`${app.url}${path}`, { method, ...(body === undefined ? {} : { body }), headers: { authorization: `Bearer ${bench.admin.key}` } });
  const ledger = async (memberId: string) =>
    (
      await bench.db.query<{ reference: string; amount: number; requestedBy: string }>(
        'SELECT reference, amount_fen::int AS amount, requested_by AS "requestedBy" FROM ledger WHERE member_id = $1 ORDER BY id',
        [memberId],
      )
    ).rows;
  const balance = async (memberId: string) =>
    (await bench.db.query<{ b: number }>('SELECT wallet_balance_fen::int AS b FROM members WHERE id = $1', [memberId])).rows[0]!.b;
  const transaction = async (id: number) =>
    (
      await bench.db.query<{ status: string; amountFen: number | null; anomalies: string[] | null; billedAt: Date | null }>(
        'SELECT status, amount_fen::int AS "amountFen", anomalies, billed_at AS "billedAt" FROM charging_transactions WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const reviewOf = async (reference: string) =>
    (await admin('GET', '/api/v1/admin/reviews?kind=charging&status=pending&limit=200'))
      .json<{ items: Array<{ id: string; reference: string; reasons: string[]; reportedFen: number; boundedFen: number; memberId: string; device: string }> }>()
      .items.find((item) => item.reference === reference);

  it("another pile's StopTransaction with meterStop 900000000 is refused: the session stays open, nothing is billed", async () => {
    const member = await bench.createMember();
    const [own, other] = [bench.piles[0]!, bench.piles[1]!];
    const first = bench.client(own);
    const second = bench.client(other);
    await first.connect();
    await second.connect();
    try {
      const start = (await first.call('StartTransaction', { connectorId: 1, idTag: member.card, meterStart: 1000, timestamp: nowIso() })) as {
        transactionId: number;
      };
      // The seen attack: a second, properly authenticated pile stops the first pile's session.
      expect(
        await second.call('StopTransaction', { transactionId: start.transactionId, meterStop: 900_000_000, timestamp: nowIso(), reason: 'Local' }),
      ).toEqual({ idTagInfo: { status: 'Invalid' } });
      // ...nor can it book meter values on it.
      await second.call('MeterValues', {
        connectorId: 1,
        transactionId: start.transactionId,
        meterValue: [{ timestamp: nowIso(), sampledValue: [{ value: '500000000' }] }],
      });
      expect((await bench.db.query('SELECT count(*)::int AS n FROM meter_samples WHERE transaction_id = $1', [start.transactionId])).rows[0].n).toBe(0);
      expect(await transaction(start.transactionId)).toMatchObject({ status: 'active' });
      await bench.charging.tick();
      expect(await ledger(member.id)).toEqual([]);
      expect(await reviewOf(`charging:${own.id}:${start.transactionId}`)).toBeUndefined();
      // The owner ends it honestly (no energy yet).
      expect(await first.call('StopTransaction', { transactionId: start.transactionId, meterStop: 1000, timestamp: nowIso() })).toEqual({});
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('an absurd StopTransaction goes to review; the operator adjusts it; one ledger entry by the operator, the balance moved once', async () => {
    const member = await bench.createMember({ balanceFen: 10_000 });
    const pile = bench.piles[2]!;
    const client = bench.client(pile);
    await client.connect();
    try {
      const start = (await client.call('StartTransaction', { connectorId: 1, idTag: member.card, meterStart: 100, timestamp: nowIso() })) as {
        transactionId: number;
      };
      const reference = `charging:${pile.id}:${start.transactionId}`;
      // 899,999 kWh from a 7 kW pile in moments.
      expect(
        await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: 900_000_000, timestamp: nowIso(), reason: 'Local' }),
      ).toEqual({});
      expect(await transaction(start.transactionId)).toMatchObject({
        status: 'completed',
        amountFen: null,
        anomalies: ['energy-above-rating'],
        billedAt: null,
      });
      const item = await reviewOf(reference);
      expect(item).toMatchObject({ reference, device: pile.id, memberId: member.id, reasons: ['energy-above-rating'], boundedFen: 0 });
      expect(item!.reportedFen).toBeGreaterThan(300_000_00);
      // The billing sweep does not bill a held session.
      await bench.charging.tick();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await ledger(member.id)).toEqual([]);

      // Bad decisions change nothing and name the field.
      const bad = await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'adjust' });
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(bad.json())).toContain('body.amountFen');
      const unknown = await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'refund' });
      expect(unknown.status).toBe(400);
      expect(JSON.stringify(unknown.json())).toContain('body.decision');
      expect((await admin('POST', `/api/v1/admin/reviews/not-a-uuid/decision`, { decision: 'waive' })).status).toBe(400);
      expect((await admin('POST', `/api/v1/admin/reviews/00000000-0000-4000-8000-000000000000/decision`, { decision: 'waive' })).status).toBe(404);
      const badFilter = await admin('GET', '/api/v1/admin/reviews?status=open&limit=0');
      expect(badFilter.status).toBe(400);
      expect(JSON.stringify(badFilter.json())).toContain('query.status');
      expect(JSON.stringify(badFilter.json())).toContain('query.limit');
      const member403 = await request(`${app.url}/api/v1/admin/reviews`, { headers: { authorization: `Bearer ${member.key}` } });
      expect(member403.status).toBe(403);

      const decided = await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'adjust', amountFen: 250, note: 'metered 2 kWh on site' });
      expect(decided.status).toBe(200);
      expect(decided.json()).toMatchObject({ status: 'adjusted', decidedFen: 250, decidedBy: bench.admin.id });
      // Deciding again is refused, whatever the decision.
      expect((await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'adjust', amountFen: 250 })).status).toBe(409);
      expect((await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'approve' })).status).toBe(409);

      await eventually(async () => expect(await ledger(member.id)).toEqual([{ reference, amount: -250, requestedBy: `admin:${bench.admin.id}` }]), 15_000, 100);
      // The pile repeats its stop and the sweep runs: nothing more.
      expect(await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: 900_000_000, timestamp: nowIso() })).toEqual({});
      await bench.charging.tick();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await ledger(member.id)).toHaveLength(1);
      expect(await balance(member.id)).toBe(10_000 - 250);
      const listed = await admin('GET', `/api/v1/admin/reviews?memberId=${member.id}`);
      expect(listed.json<{ items: Array<{ status: string }> }>().items.map((i) => i.status)).toEqual(['adjusted']);
    } finally {
      await client.close();
    }
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A member and a connected 350 kW pile (a second's energy stays inside its rating), closed after `use`. */
  const withFastPile = async (
    use: (
      member: Awaited<ReturnType<ChargingBench['createMember']>>,
      pile: ChargingBench['piles'][number],
      client: ReturnType<ChargingBench['client']>,
    ) => Promise<void>,
  ) => {
    const member = await bench.createMember();
    const pile = bench.piles[3]!;
    expect((await bench.api('PATCH', `/api/v1/charging/piles/${pile.id}`, bench.admin.key, { maxPowerW: 350_000 })).status).toBe(200);
    const client = bench.client(pile);
    await client.connect();
    try {
      await use(member, pile, client);
    } finally {
      await client.close();
    }
  };

  it.each([
    ['a stop in year 9999', { samples: [], meterStop: 130, timestamp: '9999-12-31T23:59:59Z' }, ['clock-skew']],
    ['a stop in year 0', { samples: [], meterStop: 130, timestamp: '0000-01-01T00:00:00Z' }, ['clock-skew']],
    ['a meter going backwards', { samples: [200], meterStop: 150, timestamp: undefined }, ['meter-backwards']],
  ])('%s is not billed but held for review', (_name, stop, reasons) =>
    // Only the named anomaly is left: the energy is inside the pile's rating.
    withFastPile(async (member, pile, client) => {
      const start = (await client.call('StartTransaction', { connectorId: 1, idTag: member.card, meterStart: 100, timestamp: nowIso() })) as {
        transactionId: number;
      };
      await sleep(1_000);
      for (const value of stop.samples) {
        await client.call('MeterValues', {
          connectorId: 1,
          transactionId: start.transactionId,
          meterValue: [{ timestamp: nowIso(), sampledValue: [{ value: String(value) }] }],
        });
      }
      await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: stop.meterStop, timestamp: stop.timestamp ?? nowIso() });
      expect(await transaction(start.transactionId)).toMatchObject({ status: 'completed', anomalies: reasons, billedAt: null });
      const item = await reviewOf(`charging:${pile.id}:${start.transactionId}`);
      expect(item?.reasons).toEqual(reasons);
      // Waived: nothing is charged, and the waiver is in the ledger under the operator's name.
      const decided = await admin('POST', `/api/v1/admin/reviews/${item!.id}/decision`, { decision: 'waive' });
      expect(decided.json()).toMatchObject({ status: 'waived', decidedFen: 0 });
      await bench.charging.tick();
      await eventually(
        async () => expect(await ledger(member.id)).toEqual([{ reference: item!.reference, amount: 0, requestedBy: `admin:${bench.admin.id}` }]),
        15_000,
        100,
      );
      await sleep(300);
      expect(await ledger(member.id)).toHaveLength(1);
    }),
  );

  it('a start stamped in year 0 begins when the server received it, and is held for review', () =>
    withFastPile(async (member, pile, client) => {
      const before = Date.now();
      const start = (await client.call('StartTransaction', { connectorId: 1, idTag: member.card, meterStart: 0, timestamp: '0000-01-01T00:00:00Z' })) as {
        transactionId: number;
      };
      const { rows } = await bench.db.query<{ startedAt: Date }>('SELECT started_at AS "startedAt" FROM charging_transactions WHERE id = $1', [
        start.transactionId,
      ]);
      expect(rows[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
      await sleep(500);
      await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: 20, timestamp: nowIso() });
      expect((await reviewOf(`charging:${pile.id}:${start.transactionId}`))?.reasons).toEqual(['clock-skew']);
    }));

  it('refuses connectors, meters and ids no pile has with a CALLERROR, and stays up', async () => {
    const member = await bench.createMember();
    const client = bench.client(bench.piles[3]!);
    await client.connect();
    try {
      for (const params of [
        { connectorId: 0, idTag: member.card, meterStart: 0, timestamp: nowIso() },
        { connectorId: -1, idTag: member.card, meterStart: 0, timestamp: nowIso() },
        { connectorId: 2 ** 40, idTag: member.card, meterStart: 0, timestamp: nowIso() },
        { connectorId: 1, idTag: member.card, meterStart: -5, timestamp: nowIso() },
        { connectorId: 1, idTag: member.card, meterStart: 1e19, timestamp: nowIso() },
      ]) {
        await expect(client.call('StartTransaction', params)).rejects.toMatchObject({ rpcErrorCode: 'PropertyConstraintViolation' });
      }
      await expect(client.call('StopTransaction', { transactionId: 1, meterStop: -1, timestamp: nowIso() })).rejects.toMatchObject({
        rpcErrorCode: 'PropertyConstraintViolation',
      });
      expect(await client.call('StopTransaction', { transactionId: 2 ** 40, meterStop: 1, timestamp: nowIso() })).toEqual({ idTagInfo: { status: 'Invalid' } });
      await expect(client.call('StatusNotification', { connectorId: -3, errorCode: 'NoError', status: 'Available' })).rejects.toMatchObject({
        rpcErrorCode: 'PropertyConstraintViolation',
      });
      expect(await client.call('Heartbeat', {})).toHaveProperty('currentTime');
    } finally {
      await client.close();
    }
  });
});
