// @ts-check
// The billing benchmark's driver: deductions published straight into the DEDUCTIONS stream
// (JetStream, msgId = reference, as the APP instances publish them), then billing processes
// started; measures deductions/s until the ledger holds them all and checks exactly-once (count,
// one row per reference, sums, every member's balance chain). For each variant (a billing build
// and a number of processes on the shared durable), in alternating rounds: undisturbed; with
// every billing process SIGKILLed and restarted at 1/3 and 2/3 of the way; and paced publishing
// at fixed rates, timing each deduction from its publish to its ledger row.
//
// Env: DATABASE_URL, REDIS_URL, NATS_URL, BENCH_PREFIX (the run's prefix without separator),
//      BENCH_DEDUCTIONS (K per phase), BENCH_BASELINE_DEDUCTIONS (K for the baseline build),
//      BENCH_MEMBERS (M), BENCH_ACK_WAIT_MS (billing's ack wait in the kill phase),
//      BENCH_ROUNDS, BENCH_VARIANTS ("build:processes,…"; builds: current, baseline),
//      BENCH_BASELINE_MAIN (the baseline build's main.js), BENCH_PACED_RATES (deductions/s,
//      comma-separated), BENCH_PACED_SECONDS, BENCH_BILLING_NODE_ARGS, BENCH_OUT (result JSON).
'use strict';
const fs = require('node:fs');
const { randomUUID } = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const kit = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');
const path = require('node:path');
const { spawn } = require('node:child_process');
const net = require('node:net');
const { summary, cpuSeconds, percentile } = require('../rental/common');

const K_CURRENT = Number(process.env.BENCH_DEDUCTIONS ?? 20_000);
const K_BASELINE = Number(process.env.BENCH_BASELINE_DEDUCTIONS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'baseline:1,current:1,current:2').split(',').map((v) => {
  const [build, processes] = v.split(':');
  return { name: `${build} ×${processes}`, build, processes: Number(processes) };
});
const PACED_RATES = (process.env.BENCH_PACED_RATES ?? '80,500,1000').split(',').map(Number);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 8);
// Extra node flags for the billing processes, e.g. '--cpu-prof --cpu-prof-dir=/tmp/p' (profiles of
// processes stopped with SIGTERM; NODE_OPTIONS may not carry --cpu-prof).
const NODE_ARGS = (process.env.BENCH_BILLING_NODE_ARGS ?? '').split(' ').filter(Boolean);
const MAINS = {
  current: path.join(__dirname, '../../services/billing/dist/main.js'),
  baseline: process.env.BENCH_BASELINE_MAIN ?? '',
};
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

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** A billing process from the given build, up when /healthz answers (as the stack's spawnService). */
async function spawnBilling(main, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_ARGS, main], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ;) {
    if (child.exitCode !== null) throw new Error(`billing exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`billing did not start: ${stderr}`);
    await sleep(50);
  }
  return {
    child,
    url,
    exited,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
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

  const deduction = (phase, i) => {
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
  };

  /** Publishes k deductions for the phase. */
  async function publish(phase, k) {
    const messages = Array.from({ length: k }, (_, i) => deduction(phase, i));
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
    return { messages, publishPerSecond: k / (publishMs / 1000), duplicates, republishedDuplicates };
  }

  /** The variant's billing processes, started together. */
  async function startAll(variant, extraEnv) {
    const started = performance.now();
    const services = await Promise.all(Array.from({ length: variant.processes }, () => spawnBilling(MAINS[variant.build], { ...env, ...extraEnv })));
    for (const service of services) {
      children.add(service);
      void service.exited.then(() => children.delete(service));
    }
    return { services, startMs: performance.now() - started };
  }
  const stopAll = (services, signal) => Promise.all(services.map((s) => s.stop(signal)));

  const countOf = async (references) => Number((await db.query('SELECT count(*) AS n FROM ledger WHERE reference = ANY($1::text[])', [references])).rows[0].n);

  async function metrics(services) {
    const total = { applied: 0, duplicate: 0, failed: 0, rejected: 0, batches: 0 };
    for (const service of services) {
      try {
        const text = await (await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
        const sum = (name) =>
          text
            .split('\n')
            .filter((l) => l.startsWith(name))
            .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
        total.applied += sum('billing_deductions_applied_total');
        total.duplicate += sum('billing_deductions_duplicate_total');
        total.failed += sum('billing_deductions_failed_total');
        total.rejected += sum('billing_deductions_rejected_total');
        total.batches += sum('billing_batch_deductions_count');
      } catch {
        return undefined;
      }
    }
    return total;
  }

  async function verify(messages) {
    const k = messages.length;
    const references = messages.map((m) => m.reference);
    const expectedFen = messages.reduce((s, m) => s + m.amountFen, 0);
    const {
      rows: [row],
    } = await db.query(
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
    const {
      rows: [balances],
    } = await db.query(
      `SELECT count(*) FILTER (WHERE m.wallet_balance_fen <> $1 + coalesce(s.total, 0))::int AS broken
         FROM members m LEFT JOIN (SELECT member_id, sum(amount_fen) AS total FROM ledger GROUP BY member_id) s ON s.member_id = m.id
        WHERE m.username LIKE 'bill%'`,
      [INITIAL_BALANCE_FEN],
    );
    const {
      rows: [chain],
    } = await db.query(
      `SELECT count(*)::int AS broken FROM (
         SELECT balance_after_fen, amount_fen, lag(balance_after_fen, 1, $1::bigint) OVER (PARTITION BY member_id ORDER BY id) AS before FROM ledger) e
        WHERE e.balance_after_fen <> e.before + e.amount_fen`,
      [INITIAL_BALANCE_FEN],
    );
    const ok = row.rows === k && row.refs === k && Number(row.fen) === expectedFen && mismatched[0].n === 0 && balances.broken === 0 && chain.broken === 0;
    return {
      ok,
      rows: row.rows,
      distinctReferences: row.refs,
      ledgerFen: Number(row.fen),
      expectedFen,
      mismatchedAmounts: mismatched[0].n,
      brokenBalances: balances.broken,
      brokenChainEntries: chain.broken,
      spanMs: Number(row.span_ms),
    };
  }

  /** One phase: publish k, start the variant's processes, optionally kill them all at the given fractions, wait for k. */
  async function phase(name, variant, k, killAt, extraEnv) {
    const { messages, publishPerSecond, republishedDuplicates } = await publish(name, k);
    const references = messages.map((m) => m.reference);
    const t0 = performance.now();
    let { services, startMs } = await startAll(variant, extraEnv);
    const cpuOf = (list) => list.reduce((s, svc) => s + (cpuSeconds(svc.child.pid) ?? 0), 0);
    let cpu = 0;
    const kills = [];
    const samples = []; // [ms since t0, count]
    let count = 0;
    const pendingKills = [...killAt];
    const duplicatesBeforeKills = [];
    while (count < k && performance.now() - t0 < PHASE_TIMEOUT_MS) {
      await sleep(50);
      count = await countOf(references);
      samples.push([performance.now() - t0, count]);
      if (pendingKills.length && count >= pendingKills[0] * k) {
        pendingKills.shift();
        cpu += cpuOf(services);
        const before = await metrics(services);
        if (before) duplicatesBeforeKills.push(before.duplicate);
        const killedAt = performance.now();
        await stopAll(services, 'SIGKILL');
        services = (await startAll(variant, extraEnv)).services;
        kills.push({ atCount: count, restartMs: performance.now() - killedAt });
      }
    }
    const elapsedMs = performance.now() - t0;
    cpu += cpuOf(services);
    const final = await metrics(services);
    await stopAll(services, 'SIGTERM');
    const check = await verify(messages);
    // Steady rate: the middle 80 % of the count curve (no start-up, no tail).
    const at = (fraction) => samples.find(([, n]) => n >= fraction * k)?.[0];
    const t10 = at(0.1);
    const t90 = at(0.9);
    const middleRate = t10 !== undefined && t90 !== undefined && t90 > t10 ? (0.8 * k) / ((t90 - t10) / 1000) : undefined;
    return {
      name,
      deductions: k,
      publishPerSecond,
      republishedDuplicates,
      firstStartMs: startMs,
      elapsedMs,
      wallRate: k / (elapsedMs / 1000),
      middleRate,
      kills,
      finalMetrics: final,
      billingCpuSeconds: cpu,
      check,
    };
  }

  /**
   * Paced publishing at `rate`/s for PACED_SECONDS, billing running: each deduction is timed from
   * its publish to its receipt event, which billing publishes right after the ledger row committed
   * (a core subscription, so timing it costs the database nothing).
   */
  async function paced(variant, rate) {
    const { services } = await startAll(variant, {});
    const k = Math.round(rate * PACED_SECONDS);
    const messages = Array.from({ length: k }, (_, i) => deduction(`paced${rate}`, i));
    const publishedAt = new Map();
    const seenAt = new Map();
    const unsubscribe = bus.subscribe(kit.receiptSubject, (data) => {
      const reference = data && typeof data === 'object' ? data.reference : undefined;
      if (publishedAt.has(reference) && !seenAt.has(reference)) seenAt.set(reference, performance.now());
    });
    await bus.flush();
    const t0 = performance.now();
    const inflight = new Set();
    for (let i = 0; i < k; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const m = messages[i];
      publishedAt.set(m.reference, performance.now());
      const p = bus.publishDurable(kit.deductionSubject('rental'), m, m.reference).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    const publishSeconds = (performance.now() - t0) / 1000;
    const deadline = performance.now() + 120_000;
    while (seenAt.size < k && performance.now() < deadline) await sleep(20);
    unsubscribe();
    await stopAll(services, 'SIGTERM');
    const latencies = messages.filter((m) => seenAt.has(m.reference)).map((m) => seenAt.get(m.reference) - publishedAt.get(m.reference));
    const check = await verify(messages);
    return {
      rate,
      deductions: k,
      offeredRate: k / publishSeconds,
      seen: latencies.length,
      latencyMs: summary(latencies),
      p99: percentile(latencies, 99),
      p50: percentile(latencies, 50),
      ok: check.ok && latencies.length === k,
    };
  }

  const results = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order, so no variant always runs first (or last) in a round.
    const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const k = variant.build === 'baseline' ? K_BASELINE : K_CURRENT;
      const clean = await phase('clean', variant, k, [], {});
      const killed = await phase('kill', variant, k, [1 / 3, 2 / 3], { BILLING_ACK_WAIT_MS: String(ACK_WAIT_MS) });
      const pacedResults = [];
      for (const rate of PACED_RATES) {
        // A rate the variant cannot sustain would only measure its queue.
        if (clean.middleRate !== undefined && rate > 0.8 * clean.middleRate) pacedResults.push({ rate, skipped: true });
        else pacedResults.push(await paced(variant, rate));
      }
      results.push({ round, variant: variant.name, build: variant.build, processes: variant.processes, clean, kill: killed, paced: pacedResults });
      console.error(
        `round ${round} ${variant.name}: clean ${Math.round(clean.middleRate ?? 0)}/s ok=${clean.check.ok}, kill ${Math.round(killed.wallRate)}/s ok=${killed.check.ok}, paced ${pacedResults.map((p) => (p.skipped ? `${p.rate}:skipped` : `${p.rate}:p99=${Math.round(p.p99)}ms`)).join(' ')}`,
      );
    }
  }
  const out = {
    results,
    ackWaitMs: ACK_WAIT_MS,
    members: M,
    rounds: ROUNDS,
    pacedSeconds: PACED_SECONDS,
    billingEnv: { BILLING_CONCURRENCY: process.env.BILLING_CONCURRENCY ?? '(default)', BILLING_BATCH_MAX: process.env.BILLING_BATCH_MAX ?? '(default)' },
  };
  fs.writeFileSync(process.env.BENCH_OUT ?? 'result.json', JSON.stringify(out, null, 2));
  await bus.close();
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
