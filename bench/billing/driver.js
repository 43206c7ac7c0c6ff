// @ts-check
// The billing benchmark's driver: deductions published straight into the DEDUCTIONS stream
// (JetStream, msgId = reference, as the APP instances publish them), then the billing service
// started as its own process; measures deductions/s until the ledger holds them all and checks
// exactly-once (count, one row per reference, sums, every member's balance). Twice: undisturbed,
// and with the billing process SIGKILLed and restarted at 1/3 and 2/3 of the way.
//
// Env: DATABASE_URL, REDIS_URL, NATS_URL, BENCH_PREFIX (the run's prefix without separator),
//      BENCH_DEDUCTIONS (K, per phase), BENCH_MEMBERS (M), BENCH_ACK_WAIT_MS (billing's ack wait
//      in the kill phase), BENCH_OUT (result JSON).
'use strict';
const fs = require('node:fs');
const { randomUUID } = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const kit = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');
const { spawnService } = require('../../services/stack/dist/processes');
const { summary, cpuSeconds } = require('../rental/common');

const K = Number(process.env.BENCH_DEDUCTIONS ?? 20_000);
const M = Number(process.env.BENCH_MEMBERS ?? 1000);
const PREFIX = process.env.BENCH_PREFIX ?? `benchbill${process.pid}`;
const ACK_WAIT_MS = Number(process.env.BENCH_ACK_WAIT_MS ?? 5000);
const INITIAL_BALANCE_FEN = 1_000_000_000;
const PUBLISH_WINDOW = 256;
const PHASE_TIMEOUT_MS = 600_000;

const children = new Set();
const killChildren = () => {
  for (const child of children) child.child.kill('SIGKILL');
};
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

async function main() {
  const log = kit.createLogger('bench', 'warn');
  const db = kit.createPool(process.env.DATABASE_URL ?? '', { max: 4 });
  await migrateDatabase(db, log);
  const hash = await kit.hashPassword('bench-password');
  const { rows: members } = await db.query(
    `INSERT INTO members (username, display_name, password_hash, wallet_balance_fen)
     SELECT 'bill' || lpad(n::text, 6, '0'), 'Bench ' || n, $2, $3 FROM generate_series(1, $1) AS n ORDER BY n RETURNING id`,
    [M, hash, INITIAL_BALANCE_FEN],
  );
  const bus = await kit.createNatsBus({ url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-billing', prefix: `${PREFIX}.` });
  await bus.ensureStreams(kit.ALL_STREAMS);

  const env = {
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    REDIS_KEY_PREFIX: `${PREFIX}:`,
    NATS_SUBJECT_PREFIX: `${PREFIX}.`,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  };

  /** Publishes K deductions for the phase; returns their references and total. */
  async function publish(phase) {
    const messages = Array.from({ length: K }, (_, i) => {
      const rentalId = randomUUID();
      return {
        reference: `rental:${rentalId}:rental`,
        memberId: members[i % M].id,
        kind: 'rental',
        amountFen: 1 + Math.floor(Math.random() * 5000),
        description: `Bench ${phase} ${i}`,
        rentalId,
        requestedBy: 'bench',
        at: new Date().toISOString(),
      };
    });
    const started = performance.now();
    let next = 0;
    let duplicates = 0;
    await Promise.all(
      Array.from({ length: PUBLISH_WINDOW }, async () => {
        while (next < messages.length) {
          const message = messages[next++];
          const ack = await bus.publishDurable(kit.deductionSubject('rental'), message, message.reference);
          if (ack.duplicate) duplicates += 1;
        }
      }),
    );
    const publishMs = performance.now() - started;
    // The stream drops a repeated msgId: the first 100 again must all come back as duplicates.
    let republishedDuplicates = 0;
    for (const message of messages.slice(0, 100)) {
      if ((await bus.publishDurable(kit.deductionSubject('rental'), message, message.reference)).duplicate) republishedDuplicates += 1;
    }
    return { messages, publishPerSecond: K / (publishMs / 1000), duplicates, republishedDuplicates };
  }

  async function startBilling(extraEnv) {
    const started = performance.now();
    const service = await spawnService('billing', { ...env, ...extraEnv });
    children.add(service);
    void service.exited.then(() => children.delete(service));
    return { service, startMs: performance.now() - started };
  }

  const countOf = async (references) =>
    Number((await db.query('SELECT count(*) AS n FROM ledger WHERE reference = ANY($1::text[])', [references])).rows[0].n);

  async function metrics(service) {
    try {
      const text = await (await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      const sum = (name) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      return { applied: sum('billing_deductions_applied_total'), duplicate: sum('billing_deductions_duplicate_total'), failed: sum('billing_deductions_failed_total'), rejected: sum('billing_deductions_rejected_total') };
    } catch {
      return undefined;
    }
  }

  async function verify(messages) {
    const references = messages.map((m) => m.reference);
    const expectedFen = messages.reduce((s, m) => s + m.amountFen, 0);
    const { rows: [row] } = await db.query(
      `SELECT count(*)::int AS rows, count(DISTINCT reference)::int AS refs, coalesce(-sum(amount_fen), 0)::bigint AS fen,
              extract(epoch FROM max(created_at) - min(created_at)) * 1000 AS span_ms
         FROM ledger WHERE reference = ANY($1::text[])`,
      [references],
    );
    const { rows: mismatched } = await db.query(
      `SELECT count(*)::int AS n FROM ledger l JOIN unnest($1::text[], $2::bigint[]) AS x(ref, amount) ON l.reference = x.ref WHERE -l.amount_fen <> x.amount`,
      [references, messages.map((m) => m.amountFen)],
    );
    // Every member: initial balance plus all their entries equals the balance, and the chain of
    // balance_after values is unbroken (each entry's balance = previous balance + amount).
    const { rows: [balances] } = await db.query(
      `SELECT count(*) FILTER (WHERE m.wallet_balance_fen <> $1 + coalesce(s.total, 0))::int AS broken
         FROM members m LEFT JOIN (SELECT member_id, sum(amount_fen) AS total FROM ledger GROUP BY member_id) s ON s.member_id = m.id
        WHERE m.username LIKE 'bill%'`,
      [INITIAL_BALANCE_FEN],
    );
    const { rows: [chain] } = await db.query(
      `SELECT count(*)::int AS broken FROM (
         SELECT balance_after_fen, amount_fen, lag(balance_after_fen, 1, $1::bigint) OVER (PARTITION BY member_id ORDER BY id) AS before FROM ledger) e
        WHERE e.balance_after_fen <> e.before + e.amount_fen`,
      [INITIAL_BALANCE_FEN],
    );
    const ok = row.rows === K && row.refs === K && Number(row.fen) === expectedFen && mismatched[0].n === 0 && balances.broken === 0 && chain.broken === 0;
    return { ok, rows: row.rows, distinctReferences: row.refs, ledgerFen: Number(row.fen), expectedFen, mismatchedAmounts: mismatched[0].n, brokenBalances: balances.broken, brokenChainEntries: chain.broken, spanMs: Number(row.span_ms) };
  }

  /** Runs one phase: publish, start billing, optionally kill it at the given fractions, wait for K. */
  async function phase(name, killAt, extraEnv) {
    const { messages, publishPerSecond, duplicates, republishedDuplicates } = await publish(name);
    const references = messages.map((m) => m.reference);
    const t0 = performance.now();
    let { service, startMs } = await startBilling(extraEnv);
    // CPU time of the billing processes of the phase (start-up included).
    const cpuOf = (svc) => cpuSeconds(svc.child.pid) ?? 0;
    let cpu = 0;
    const kills = [];
    const samples = []; // [ms since t0, count]
    let count = 0;
    const pendingKills = [...killAt];
    while (count < K && performance.now() - t0 < PHASE_TIMEOUT_MS) {
      await sleep(50);
      count = await countOf(references);
      samples.push([performance.now() - t0, count]);
      if (pendingKills.length && count >= pendingKills[0] * K) {
        pendingKills.shift();
        cpu += cpuOf(service);
        const before = await metrics(service);
        const killedAt = performance.now();
        await service.stop('SIGKILL');
        const restarted = await startBilling(extraEnv);
        service = restarted.service;
        kills.push({ atCount: count, restartMs: performance.now() - killedAt, metricsBeforeKill: before });
      }
    }
    const elapsedMs = performance.now() - t0;
    cpu += cpuOf(service);
    const final = await metrics(service);
    await service.stop('SIGTERM');
    const check = await verify(messages);
    // Steady rate: the middle 80 % of the count curve (no start-up, no tail).
    const at = (fraction) => samples.find(([, n]) => n >= fraction * K)?.[0];
    const t10 = at(0.1);
    const t90 = at(0.9);
    const middleRate = t10 !== undefined && t90 !== undefined && t90 > t10 ? (0.8 * K) / ((t90 - t10) / 1000) : undefined;
    const gaps = [];
    for (let i = 1; i < samples.length; i++) if (samples[i][1] === samples[i - 1][1]) gaps.push(samples[i][0] - samples[i - 1][0]);
    return {
      name,
      deductions: K,
      members: M,
      publishPerSecond,
      publishDuplicates: duplicates,
      republishedDuplicates,
      firstStartMs: startMs,
      elapsedMs,
      wallRate: K / (elapsedMs / 1000),
      ledgerSpanRate: check.spanMs > 0 ? K / (check.spanMs / 1000) : undefined,
      middleRate,
      kills,
      stalledMs: gaps.reduce((s, g) => s + g, 0),
      finalMetrics: final,
      billingCpuSeconds: cpu,
      check,
    };
  }

  const results = [];
  results.push(await phase('clean', [], {}));
  results.push(await phase('kill', [1 / 3, 2 / 3], { BILLING_ACK_WAIT_MS: String(ACK_WAIT_MS) }));
  // Latency of one deduction on an idle service: publish one, time until its ledger row.
  const { service } = await startBilling({});
  const single = [];
  for (let i = 0; i < 50; i++) {
    const rentalId = randomUUID();
    const reference = `rental:${rentalId}:rental`;
    const started = performance.now();
    await bus.publishDurable(kit.deductionSubject('rental'), { reference, memberId: members[i % M].id, kind: 'rental', amountFen: 100, description: 'Bench single', rentalId, requestedBy: 'bench', at: new Date().toISOString() }, reference);
    for (let j = 0; j < 2000 && (await countOf([reference])) === 0; j++) await sleep(1);
    single.push(performance.now() - started);
  }
  await service.stop('SIGTERM');
  const out = { phases: results, singleDeductionMs: summary(single), ackWaitMs: ACK_WAIT_MS };
  fs.writeFileSync(process.env.BENCH_OUT ?? 'result.json', JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out, null, 2));
  await bus.close();
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
