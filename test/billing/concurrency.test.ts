import { randomUUID } from 'node:crypto';
import { ALL_STREAMS, createNatsBus, createPool, deductionSubject, type Bus, type DeductionMessage, type Pool } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { spawnService, type ServiceProcess } from '@evshare/stack';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { eventually, request } from '../support/http';

// Several deductions in flight per billing process (BILLING_CONCURRENCY transactions of up to
// BILLING_BATCH_MAX deductions each) and several processes on the shared durable: one member's
// deductions still apply in order, and crashes still leave an exact ledger.
const START_BALANCE = 10_000_000;

describe('deduction service: concurrency', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Pool;
  let bus: Bus;
  let env: Record<string, string>;
  const running = new Set<ServiceProcess>();

  const start = async (overrides: Record<string, string> = {}) => {
    const service = await spawnService('billing', { ...env, ...overrides });
    running.add(service);
    return service;
  };
  const kill = async (service: ServiceProcess) => {
    await service.stop('SIGKILL');
    running.delete(service);
  };

  const addMembers = async (n: number, tag: string) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO members (username, display_name, password_hash, wallet_balance_fen) VALUES ($1, 'Load', '!', $2) RETURNING id`,
        [`${tag}${i}`, START_BALANCE],
      );
      ids.push(rows[0]!.id);
    }
    return ids;
  };

  const deductionsFor = (members: string[], count: number, tag: string): DeductionMessage[] =>
    Array.from({ length: count }, (_, i) => ({
      reference: `rental:${randomUUID()}:rental`,
      memberId: members[i % members.length]!,
      kind: 'rental',
      amountFen: 1 + ((i * 7919) % 5_000),
      description: `${tag} ${i}`,
      requestedBy: 'test',
      at: new Date().toISOString(),
    }));

  /** In order: each publish is acknowledged before the next, so the stream holds them in this order. */
  const publishInOrder = async (deductions: DeductionMessage[]) => {
    for (const d of deductions) await bus.publishDurable(deductionSubject(d.kind), d, d.reference);
  };

  const ledgerOf = async (members: string[]) =>
    (
      await db.query<{ memberId: string; reference: string; amount: number; balanceAfter: number }>(
        `SELECT member_id AS "memberId", reference, amount_fen AS amount, balance_after_fen AS "balanceAfter" FROM ledger WHERE member_id = ANY($1) ORDER BY id`,
        [members],
      )
    ).rows;

  /** Every member's entries, in ledger order, chain from the start balance to the member's balance. */
  const expectExactLedger = async (members: string[], deductions: DeductionMessage[]) => {
    const ledger = await ledgerOf(members);
    expect(ledger).toHaveLength(deductions.length);
    expect(new Set(ledger.map((e) => e.reference)).size).toBe(deductions.length);
    const fee = new Map(deductions.map((d) => [d.reference, d.amountFen]));
    expect(ledger.filter((e) => -e.amount !== fee.get(e.reference))).toEqual([]);
    const { rows: wallets } = await db.query<{ id: string; balance: number }>('SELECT id, wallet_balance_fen AS balance FROM members WHERE id = ANY($1)', [
      members,
    ]);
    for (const wallet of wallets) {
      let balance = START_BALANCE;
      for (const entry of ledger.filter((e) => e.memberId === wallet.id)) {
        expect(entry.balanceAfter).toBe(balance + entry.amount);
        balance = entry.balanceAfter;
      }
      const charged = deductions.filter((d) => d.memberId === wallet.id).reduce((sum, d) => sum + d.amountFen, 0);
      expect({ member: wallet.id, balance: wallet.balance }).toEqual({ member: wallet.id, balance: START_BALANCE - charged });
      expect(balance).toBe(wallet.balance);
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database.url, { BILLING_ACK_WAIT_MS: '1500', LOG_LEVEL: 'error', BILLING_CONCURRENCY: '4', BILLING_BATCH_MAX: '8' });
    db = createPool(database.url, { max: 4 });
    await migrateDatabase(db);
    bus = await createNatsBus({ url: env.NATS_URL!, prefix: env.NATS_SUBJECT_PREFIX });
    await bus.ensureStreams(ALL_STREAMS);
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await bus?.close();
    await db?.end();
    await database?.drop();
  });

  it("applies one member's deductions in delivery order, several members' in parallel batches", async () => {
    const members = await addMembers(3, 'order');
    const deductions = deductionsFor(members, 300, 'order');
    // All in the stream before the service starts, so batches form at once.
    await publishInOrder(deductions);
    const billing = await start();
    await eventually(async () => expect(await ledgerOf(members)).toHaveLength(deductions.length), 60_000, 200);
    for (const member of members) {
      const applied = (await ledgerOf([member])).map((e) => e.reference);
      expect(applied).toEqual(deductions.filter((d) => d.memberId === member).map((d) => d.reference));
    }
    await expectExactLedger(members, deductions);
    // Batches really held several deductions (the histogram's mean is above one).
    const metrics = (await request(`${billing.url}/metrics`)).body;
    const sum = Number(/^billing_batch_deductions_sum\{?[^}\n]*\}? (\d+)/m.exec(metrics)?.[1]);
    const count = Number(/^billing_batch_deductions_count\{?[^}\n]*\}? (\d+)/m.exec(metrics)?.[1]);
    expect(sum).toBe(deductions.length);
    expect(count).toBeLessThan(sum);
    await kill(billing);
  }, 90_000);

  it('two processes with batches in flight, both SIGKILLed again and again, still give an exact ledger', async () => {
    const members = await addMembers(20, 'crash');
    const deductions = deductionsFor(members, 3_000, 'crash');
    for (let i = 0; i < deductions.length; i += 100) {
      await Promise.all(deductions.slice(i, i + 100).map((d) => bus.publishDurable(deductionSubject(d.kind), d, d.reference)));
    }
    let kills = 0;
    for (let round = 0; round < 5; round++) {
      const pair = await Promise.all([start(), start()]);
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 400)));
      await Promise.all(pair.map(kill));
      kills += 2;
    }
    const before = (await ledgerOf(members)).length;
    await Promise.all([start(), start()]);
    await eventually(async () => expect(await ledgerOf(members)).toHaveLength(deductions.length), 60_000, 250);
    // A little longer: a redelivery arriving late must not add anything.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(kills).toBe(10);
    // The kills hit work in progress, not an idle or a finished queue.
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(deductions.length);
    await expectExactLedger(members, deductions);
  }, 120_000);
});
