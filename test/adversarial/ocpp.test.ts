import fc from 'fast-check';
import WebSocket from 'ws';
import type { RPCClient } from 'ocpp-rpc';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { eventually, request } from '../support/http';
import { messageText } from '../support/ws';
import { nowIso, startChargingBench, type ChargingBench } from '../charging/support';

/**
 * OCPP 1.6J adversarial suite (issue 11) against the real charging service (PostgreSQL, NATS,
 * Redis, billing): properly authenticated but hostile piles. Properties: every call is answered
 * (a CALLRESULT, the right CALLERROR, or a refusal), the connection and the service survive, and
 * no session is billed beyond what the pile really delivered — at most its rated power × the real
 * elapsed time × the margin, and only to the member who started it on that pile.
 */
const HANDLED = [
  'BootNotification',
  'Heartbeat',
  'StatusNotification',
  'Authorize',
  'StartTransaction',
  'StopTransaction',
  'MeterValues',
  'DataTransfer',
  'FirmwareStatusNotification',
  'DiagnosticsStatusNotification',
] as const;
const MARGIN = 1.1;
const RATED_W = 350_000;

describe('adversarial: OCPP 1.6J central system', () => {
  let bench: ChargingBench;

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 3, env: { LOG_LEVEL: 'error' } });
    // DC fast chargers: in the few hundred milliseconds of a generated session they can deliver some Wh.
    for (const pile of bench.piles)
      expect((await bench.api('PATCH', `/api/v1/charging/piles/${pile.id}`, bench.admin.key, { maxPowerW: RATED_W })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
  });

  const openRaw = async (pile = bench.piles[2]!) => {
    const ws = new WebSocket(`${bench.ocppUrl}/${pile.id}`, 'ocpp1.6', {
      headers: { authorization: `Basic ${Buffer.from(`${pile.id}:${pile.password}`).toString('base64')}` },
    });
    const frames: unknown[] = [];
    ws.on('message', (data) => {
      const text = messageText(data);
      try {
        frames.push(JSON.parse(text));
      } catch {
        frames.push(text);
      }
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return { ws, frames };
  };

  it(
    'answers schema-violating and garbage frames for every action; the connection stays open',
    async () => {
      const { ws, frames } = await openRaw();
      const answerTo = async (id: string) => {
        let answer: unknown[] | undefined;
        await eventually(
          () => {
            answer = frames.find((f): f is unknown[] => Array.isArray(f) && f[1] === id);
            expect(answer).toBeDefined();
          },
          5_000,
          5,
        );
        return answer!;
      };
      // Values of every JSON type, deep or wide enough to stress the validator, small enough for a frame.
      const json = fc.jsonValue({ maxDepth: 4 });
      const hostilePayload = fc.oneof(
        json,
        fc.dictionary(
          fc.constantFrom(
            'connectorId',
            'idTag',
            'meterStart',
            'meterStop',
            'timestamp',
            'transactionId',
            'status',
            'errorCode',
            'meterValue',
            'vendorId',
            'data',
            'chargePointVendor',
            'chargePointModel',
            'reason',
            'transactionData',
            'x',
          ),
          json,
        ),
      );
      let serial = 0;
      try {
        const cases = await checkProperty(
          'ocpp: schema-violating frames',
          300,
          fc.oneof(
            {
              weight: 6,
              arbitrary: fc
                .tuple(fc.constantFrom(...HANDLED, 'FooBar', ''), hostilePayload)
                .map(([action, payload]) => ({ kind: 'call' as const, action, payload })),
            },
            {
              weight: 2,
              arbitrary: fc
                .oneof(
                  fc.string(),
                  fc.jsonValue().map((v) => JSON.stringify(v)),
                  fc.constantFrom('[', '[2]', '[2,1,"Heartbeat",{}]', '[9,"x"]', '[3,"unknown",{}]', '[4,"x","y","z",{}]'),
                )
                .map((raw) => ({ kind: 'raw' as const, raw })),
            },
          ),
          async (frame) => {
            frames.length = 0;
            if (frame.kind === 'call') {
              const id = `f${serial++}`;
              ws.send(JSON.stringify([2, id, frame.action, frame.payload]));
              const answer = await answerTo(id);
              // A CALLRESULT (the payload happened to be valid) or a CALLERROR with a code and details.
              if (answer[0] === 4) expect(typeof answer[2]).toBe('string');
              else expect(answer[0]).toBe(3);
              if (frame.action === 'FooBar' || frame.action === '') expect(answer[2]).toBe('NotImplemented');
            } else {
              ws.send(frame.raw);
            }
            // Whatever came before, the connection still answers.
            const ping = `h${serial++}`;
            ws.send(JSON.stringify([2, ping, 'Heartbeat', {}]));
            expect((await answerTo(ping))[0]).toBe(3);
            expect(ws.readyState).toBe(WebSocket.OPEN);
          },
        );
        expect(cases).toBeGreaterThan(0);
      } finally {
        ws.close();
      }
    },
    fuzzTimeout(90_000),
  );

  it('closes a frame above the cap (1009) and keeps serving others', async () => {
    const { ws } = await openRaw();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'evshare', data: 'x'.repeat(100 * 1024) }]));
    expect(await closed).toBe(1009);
    expect((await request(`${bench.charging.url}/healthz`)).status).toBe(200);
    const again = await openRaw();
    again.ws.send('[2,"ok","Heartbeat",{}]');
    await eventually(() => expect(again.frames).toContainEqual([3, 'ok', expect.objectContaining({ currentTime: expect.any(String) })]));
    again.ws.close();
  });

  type Op =
    | { op: 'start'; pile: 0 | 1; connector: number; tag: 'own' | 'other' | 'unknown'; meterStart: number; clock: number }
    | { op: 'meter'; pile: 0 | 1; tx: 'own' | 'foreign' | 'random'; value: number; clock: number; randomId: number }
    | { op: 'stop'; pile: 0 | 1; tx: 'own' | 'foreign' | 'random'; delta: number; clock: number; randomId: number }
    | { op: 'wait'; ms: number }
    | { op: 'repeat' };

  // Clock offsets of the pile's timestamps: honest, skewed, year 0 and year 9999.
  const CLOCKS = [0, 0, 0, 60_000, -3600_000, 3600_000, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const stamp = (clock: number) =>
    clock === Number.NEGATIVE_INFINITY
      ? '0000-01-01T00:00:00Z'
      : clock === Number.POSITIVE_INFINITY
        ? '9999-12-31T23:59:59Z'
        : new Date(Date.now() + clock).toISOString();
  const pileArb = fc.constantFrom<0 | 1>(0, 1);
  const clockArb = fc.constantFrom(...CLOCKS);
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('start' as const),
        pile: pileArb,
        connector: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(1, 2) }, fc.constantFrom(0, -1, 65, 2 ** 31)),
        tag: fc.constantFrom<'own' | 'other' | 'unknown'>('own', 'own', 'other', 'unknown'),
        meterStart: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(-1, 1e13)),
        clock: clockArb,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('meter' as const),
        pile: pileArb,
        tx: fc.constantFrom<'own' | 'foreign' | 'random'>('own', 'foreign', 'random'),
        value: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom(900_000_000, -5)),
        clock: clockArb,
        randomId: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: -5, max: 2 ** 40 })),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('stop' as const),
        pile: pileArb,
        tx: fc.constantFrom<'own' | 'foreign' | 'random'>('own', 'own', 'foreign', 'random'),
        delta: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }) }, fc.constantFrom(-500, 900_000_000, 5_000)),
        clock: clockArb,
        randomId: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: -5, max: 2 ** 40 })),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'repeat' as const }) },
  );

  it(
    'generated Start/MeterValues/Stop sequences over two piles bill nothing the piles did not deliver',
    async () => {
      const owner = [await bench.createMember(), await bench.createMember()];
      const piles = [bench.piles[0]!, bench.piles[1]!];
      const clients: RPCClient[] = [];
      for (const pile of piles) {
        const client = bench.client(pile);
        await client.connect();
        clients.push(client);
      }
      // What the test itself saw: for each transaction, its pile, the member whose card started it,
      // and the real time from sending its start to the answer of its stop.
      const started = new Map<number, { pile: number; memberId: string | null; sentAt: number; meterStart: number }>();
      const stoppedAt = new Map<number, number>();
      const latest: Array<number | undefined> = [undefined, undefined];
      try {
        const cases = await checkProperty('ocpp: hostile transaction sequences', 40, fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          let last: (() => Promise<unknown>) | undefined;
          for (const op of ops) {
            if (op.op === 'wait') {
              await new Promise((resolve) => setTimeout(resolve, op.ms));
              continue;
            }
            if (op.op === 'repeat') {
              if (last) await last().catch(() => undefined);
              continue;
            }
            const client = clients[op.pile]!;
            const txOf = (which: 'own' | 'foreign' | 'random', randomId: number) =>
              which === 'own' ? (latest[op.pile] ?? 1) : which === 'foreign' ? (latest[1 - op.pile] ?? 1) : randomId;
            if (op.op === 'start') {
              const tagOwner = op.tag === 'own' ? owner[op.pile]! : op.tag === 'other' ? owner[1 - op.pile]! : undefined;
              const params = { connectorId: op.connector, idTag: tagOwner?.card ?? 'FFFF0000', meterStart: op.meterStart, timestamp: stamp(op.clock) };
              const call = async () => {
                const sentAt = Date.now();
                const answer = (await client.call('StartTransaction', params)) as { transactionId: number; idTagInfo: { status: string } };
                if (!started.has(answer.transactionId))
                  started.set(answer.transactionId, {
                    pile: op.pile,
                    memberId: answer.idTagInfo.status === 'Accepted' ? (tagOwner?.id ?? null) : null,
                    sentAt,
                    meterStart: op.meterStart,
                  });
                latest[op.pile] = answer.transactionId;
                return answer;
              };
              last = call;
              const valid = op.connector >= 1 && op.connector <= 64 && op.meterStart >= 0 && op.meterStart <= 1e12;
              if (valid) await call();
              else await expect(call()).rejects.toMatchObject({ rpcErrorCode: 'PropertyConstraintViolation' });
            } else if (op.op === 'meter') {
              const transactionId = txOf(op.tx, op.randomId);
              const call = () =>
                client.call('MeterValues', {
                  connectorId: 1,
                  transactionId,
                  meterValue: [{ timestamp: stamp(op.clock), sampledValue: [{ value: String(op.value) }] }],
                });
              last = call;
              expect(await call()).toEqual({});
            } else {
              const transactionId = txOf(op.tx, op.randomId);
              const base = started.get(transactionId)?.meterStart ?? 0;
              const meterStop = Math.max(0, base + op.delta);
              const call = async () => {
                const answer = (await client.call('StopTransaction', { transactionId, meterStop, timestamp: stamp(op.clock) })) as {
                  idTagInfo?: { status: string };
                };
                const mine = started.get(transactionId);
                // Another pile's (or an unknown) transaction is refused.
                if (!mine || mine.pile !== op.pile) expect(answer).toEqual({ idTagInfo: { status: 'Invalid' } });
                else if (!stoppedAt.has(transactionId)) stoppedAt.set(transactionId, Date.now());
                return answer;
              };
              last = call;
              await call();
            }
          }
          // The invariant, over every session the service would bill.
          const { rows } = await bench.db.query<{ id: number; pileId: string; memberId: string; energyWh: number }>(
            `SELECT id, pile_id AS "pileId", member_id AS "memberId", energy_wh::float8 AS "energyWh" FROM charging_transactions
           WHERE pile_id = ANY($1) AND status = 'completed' AND member_id IS NOT NULL AND anomalies IS NULL AND energy_wh > 0`,
            [piles.map((p) => p.id)],
          );
          for (const row of rows) {
            const seen = started.get(row.id);
            expect(seen).toBeDefined();
            expect(row.pileId).toBe(piles[seen!.pile]!.id);
            expect(row.memberId).toBe(seen!.memberId);
            const elapsedMs = (stoppedAt.get(row.id) ?? Date.now()) - seen!.sentAt;
            expect(row.energyWh).toBeLessThanOrEqual((RATED_W * elapsedMs * MARGIN) / 3_600_000);
          }
          for (const client of clients) expect(await client.call('Heartbeat', {})).toHaveProperty('currentTime');
        });
        expect(cases).toBeGreaterThan(0);

        // What reached the ledger is exactly the billable sessions, each once.
        const { rows: billable } = await bench.db.query<{ reference: string }>(
          `SELECT 'charging:' || pile_id || ':' || id AS reference FROM charging_transactions
         WHERE pile_id = ANY($1) AND status = 'completed' AND member_id IS NOT NULL AND anomalies IS NULL`,
          [piles.map((p) => p.id)],
        );
        await eventually(
          async () => {
            const { rows: entries } = await bench.db.query<{ reference: string }>('SELECT reference FROM ledger WHERE member_id = ANY($1)', [
              owner.map((o) => o.id),
            ]);
            expect(entries.map((e) => e.reference).sort()).toEqual(billable.map((b) => b.reference).sort());
          },
          20_000,
          200,
        );
        expect((await request(`${bench.charging.url}/healthz`)).status).toBe(200);
      } finally {
        for (const client of clients) await client.close();
      }
    },
    fuzzTimeout(120_000),
  );

  it('the seen attack as a fixed case: nothing billed for 899,999 kWh', async () => {
    const member = await bench.createMember();
    const [first, second] = [bench.client(bench.piles[0]!), bench.client(bench.piles[1]!)];
    await first.connect();
    await second.connect();
    try {
      const start = (await first.call('StartTransaction', { connectorId: 2, idTag: member.card, meterStart: 0, timestamp: nowIso() })) as {
        transactionId: number;
      };
      expect(await second.call('StopTransaction', { transactionId: start.transactionId, meterStop: 900_000_000, timestamp: nowIso() })).toEqual({
        idTagInfo: { status: 'Invalid' },
      });
      expect(await first.call('StopTransaction', { transactionId: start.transactionId, meterStop: 900_000_000, timestamp: nowIso() })).toEqual({});
      await bench.charging.tick();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await bench.db.query('SELECT count(*)::int AS n FROM ledger WHERE member_id = $1', [member.id])).rows[0].n).toBe(0);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
