import { randomUUID } from 'node:crypto';
import { ALL_STREAMS, createNatsBus, createPool, deductionSubject, type Bus, type DeductionMessage, type Pool } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { spawnService, type ServiceProcess } from '@evshare/stack';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { eventually, request } from '../support/http';

// The billing service as its own process, so it can be killed (SIGKILL) like a crashed pod.
const MEMBERS = 20;
const DEDUCTIONS = 1_000;
const START_BALANCE = 1_000_000;

describe('deduction service: exactly-once under crashes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  let db: Pool;
  let bus: Bus;
  let billing: ServiceProcess | undefined;
  const members: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database.url, { BILLING_ACK_WAIT_MS: '1500', LOG_LEVEL: 'error' });
    db = createPool(database.url, { max: 4 });
    await migrateDatabase(db);
    for (let i = 0; i < MEMBERS; i++) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO members (username, display_name, password_hash, wallet_balance_fen) VALUES ($1, 'Load', '!', $2) RETURNING id`,
        [`load${i}`, START_BALANCE],
      );
      members.push(rows[0]!.id);
    }
    bus = await createNatsBus({ url: env.NATS_URL!, prefix: env.NATS_SUBJECT_PREFIX });
    await bus.ensureStreams(ALL_STREAMS);
  });

  afterAll(async () => {
    await billing?.stop('SIGKILL');
    await bus?.close();
    await db?.end();
    await database?.drop();
  });

  const ledgerStats = async () => {
    const { rows } = await db.query<{ count: number; charged: number; references: number }>(
      `SELECT count(*)::int AS count, coalesce(-sum(amount_fen), 0)::bigint AS charged, count(DISTINCT reference)::int AS "references" FROM ledger`,
    );
    return rows[0]!;
  };

  it('applies 1,000 deductions exactly once while the service is killed repeatedly', async () => {
    const deductions: DeductionMessage[] = Array.from({ length: DEDUCTIONS }, (_, i) => ({
      reference: `rental:${randomUUID()}:rental`,
      memberId: members[i % MEMBERS]!,
      kind: 'rental',
      amountFen: 1 + ((i * 7919) % 5_000),
      description: `load ${i}`,
      requestedBy: 'test',
      at: new Date().toISOString(),
    }));
    const fees = deductions.reduce((sum, d) => sum + d.amountFen, 0);
    for (let i = 0; i < deductions.length; i += 100) {
      await Promise.all(deductions.slice(i, i + 100).map((d) => bus.publishDurable(deductionSubject(d.kind), d, d.reference)));
    }

    // Kill it mid-stream again and again: some deductions are committed but not acknowledged
    // when it dies, and come back to the next instance.
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      billing = await spawnService('billing', env);
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 400)));
      await billing.stop('SIGKILL');
      kills++;
      billing = undefined;
    }

    billing = await spawnService('billing', env);
    await eventually(async () => expect((await ledgerStats()).count).toBe(DEDUCTIONS), 45_000, 250);
    // A little longer: a redelivery arriving late must not add anything.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const stats = await ledgerStats();
    expect(kills).toBe(6);
    expect(stats).toEqual({ count: DEDUCTIONS, charged: fees, references: DEDUCTIONS });

    const { rows } = await db.query<{ id: string; balance: number; debt: number }>(
      'SELECT id, wallet_balance_fen AS balance, debt_fen AS debt FROM members WHERE id = ANY($1)',
      [members],
    );
    for (const row of rows) {
      const charged = deductions.filter((d) => d.memberId === row.id).reduce((sum, d) => sum + d.amountFen, 0);
      expect(row.balance).toBe(START_BALANCE - charged);
      expect(row.debt).toBe(0);
    }
    // Each member's entries form one unbroken chain of balances.
    const chain = await db.query<{ broken: number }>(
      `SELECT count(*)::int AS broken FROM (
         SELECT balance_after_fen - amount_fen AS before, lag(balance_after_fen, 1, $1::bigint) OVER (PARTITION BY member_id ORDER BY id) AS previous FROM ledger
       ) chain WHERE before <> previous`,
      [START_BALANCE],
    );
    expect(chain.rows[0]!.broken).toBe(0);
  }, 120_000);

  it('a redelivered deduction (same reference, new message) adds no ledger row', async () => {
    billing ??= await spawnService('billing', env);
    const again = await db.query<{ reference: string; memberId: string; amount: number }>(
      'SELECT reference, member_id AS "memberId", -amount_fen AS amount FROM ledger ORDER BY id LIMIT 50',
    );
    for (const row of again.rows) {
      const message: DeductionMessage = {
        reference: row.reference,
        memberId: row.memberId,
        kind: 'rental',
        amountFen: row.amount,
        description: 'again',
        requestedBy: 'test',
        at: new Date().toISOString(),
      };
      // A new msgId: JetStream does not drop it, so only the ledger's unique reference protects.
      await bus.publishDurable(deductionSubject('rental'), message, `${row.reference}#again`);
    }
    await eventually(
      async () => {
        const metrics = (await request(`${billing!.url}/metrics`)).body;
        const duplicates = Number(/^billing_deductions_duplicate_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
        expect(duplicates).toBeGreaterThanOrEqual(50);
      },
      20_000,
      200,
    );
    expect((await ledgerStats()).count).toBe(DEDUCTIONS);
  });

  it('the ledger refuses updates, deletes and truncation', async () => {
    await expect(db.query('UPDATE ledger SET amount_fen = 0')).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM ledger')).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE ledger')).rejects.toThrow(/append-only/);
    expect((await ledgerStats()).count).toBe(DEDUCTIONS);
  });
});
