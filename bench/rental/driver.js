// @ts-check
// The rental benchmark's load driver. Each of the fleet's members loops on its own car through the
// gateway: reserve -> rent (the driver is also the cars: it acknowledges unlock commands on NATS)
// -> the car reports the distance driven -> return -> wait until the billing service has written
// the ledger row `rental:<id>:rental`. Closed loop: a member starts its next rental only when the
// previous one is billed, so the rate is what the whole chain sustains.
//
// Env: GATEWAY_URL, DATABASE_URL, NATS_URL, BENCH_PREFIX (NATS subject prefix, e.g. "x."),
//      BENCH_DURATION (s, measured), BENCH_WARMUP (s, not measured), BENCH_FLEET (fleet.json),
//      BENCH_OUT (result JSON), BILLING_URL (optional, for its metrics), BENCH_PIDS (optional,
//      "name=pid,..." processes whose CPU time is reported).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { setTimeout: sleep } = require('node:timers/promises');
const pg = require('pg');
const kit = require('../../services/kit/dist');
const { summary, cpuSeconds } = require('./common');

// One URL (the gateway) or several (APP instances directly: member i uses URL i mod n).
const TARGETS = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').split(',').map((u) => new URL(u));
const DURATION_MS = Number(process.env.BENCH_DURATION ?? 30) * 1000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP ?? 5) * 1000;
const REQUEST_TIMEOUT_MS = 30_000;
const BILLED_TIMEOUT_MS = 60_000;
const LEDGER_POLL_MS = 5;
const { fleet, initialBalanceFen } = JSON.parse(fs.readFileSync(process.env.BENCH_FLEET ?? 'fleet.json', 'utf8'));

fleet.forEach((member, i) => {
  member.target = TARGETS[i % TARGETS.length];
});
const agent = new http.Agent({ keepAlive: true, maxSockets: fleet.length + 8 });

/** One JSON request through the gateway -> {status, body, instance, ms}. */
function call(method, path, key, body, target = TARGETS[0]) {
  return new Promise((resolve) => {
    const started = performance.now();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        agent,
        headers: { authorization: `Bearer ${key}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          const headers = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            body: json,
            instance: String(headers['x-app-instance'] ?? '?'),
            ms: performance.now() - started,
            headers: { get: (name) => headers[name] ?? null },
          });
        });
        res.on('error', (error) => resolve({ status: 0, body: { error: String(error) }, instance: '?', ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: { error: String(error) }, instance: '?', ms: performance.now() - started }));
    req.end(payload);
  });
}

let retries = 0;
/**
 * `call` by the web UI's retry rule (the kit's withRetry): a shed answer (503 + Retry-After) is sent
 * again after the time it names, a network failure only for an idempotent request. Resolves with
 * the last answer; `ms` is that (admitted) request's own time.
 */
async function send(method, path, key, body, target) {
  let last;
  try {
    return await kit.withRetry(
      async () => {
        last = await call(method, path, key, body, target);
        if (last.status === 0) throw new Error(String(last.body?.error));
        return last;
      },
      { method },
      { onRetry: () => retries++ },
    );
  } catch {
    return last;
  }
}

async function main() {
  const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  const bus = await kit.createNatsBus({ url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-cars', prefix: process.env.BENCH_PREFIX });

  // The cars: acknowledge each unlock command id once, as a terminal would (docs/rental.md).
  const acked = new Set();
  let commands = 0;
  let resent = 0;
  bus.subscribe('vehicle.*.command', (data) => {
    const command = /** @type {{commandId: string, vin: string, action: string, expiresAt: string}} */ (data);
    commands += 1;
    if (acked.has(command.commandId)) {
      resent += 1;
      return;
    }
    if (Date.parse(command.expiresAt) < Date.now()) return;
    acked.add(command.commandId);
    bus.publish(`vehicle.${command.vin}.ack`, { commandId: command.commandId, ok: true });
  });
  await bus.flush();

  // The ledger watcher: one query every few ms for the rows added since the last one.
  const seen = new Map(); // reference -> time first seen (performance.now())
  const waiters = new Map(); // reference -> resolve
  let lastId = 0;
  let watching = true;
  let polls = 0;
  // Ledger ids come from a sequence, and concurrent billing transactions commit out of order: a
  // row can appear below ids already read. Ids skipped over are read again until they appear or
  // GAP_MS has passed (a rolled-back insert leaves a gap that never fills).
  const GAP_MS = 2000;
  const gaps = new Map(); // id -> when first found missing
  const watcher = (async () => {
    while (watching) {
      const from = gaps.size > 0 ? Math.min(...gaps.keys()) - 1 : lastId;
      const { rows } = await db.query('SELECT id, reference FROM ledger WHERE id > $1 ORDER BY id LIMIT 10000', [from]);
      polls += 1;
      const now = performance.now();
      for (const row of rows) {
        const id = Number(row.id);
        if (id <= lastId && !gaps.delete(id)) continue;
        if (lastId > 0) for (let missing = lastId + 1; missing < id; missing++) gaps.set(missing, now);
        lastId = Math.max(lastId, id);
        seen.set(row.reference, now);
        const wake = waiters.get(row.reference);
        if (wake) {
          waiters.delete(row.reference);
          wake(now);
        }
      }
      for (const [id, since] of gaps) if (now - since > GAP_MS) gaps.delete(id);
      if (rows.length < 10000) await sleep(LEDGER_POLL_MS);
    }
  })();
  const billed = (reference) =>
    new Promise((resolve) => {
      if (seen.has(reference)) return resolve(seen.get(reference));
      const timer = setTimeout(() => {
        waiters.delete(reference);
        resolve(undefined);
      }, BILLED_TIMEOUT_MS);
      waiters.set(reference, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });

  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const deadline = measureFrom + DURATION_MS;
  const steps = { reserve: [], rent: [], return: [], billed: [], rental: [] };
  const errors = [];
  const instances = {};
  let completedInWindow = 0;
  let completedTotal = 0;
  let billedTimeouts = 0;
  let billedFenDriver = 0;
  const returnedRentals = [];

  const fail = (member, step, reply) => {
    errors.push({ step, status: reply.status, type: reply.body?.type ?? reply.body?.error, at: Math.round(performance.now() - start) });
    if (errors.length <= 5) console.error(`bench: ${step} for ${member.memberId}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  };
  // Puts a member back to "nothing held" after an error (bounded: one cancel and one return).
  const recover = async (member) => {
    const current = await send('GET', '/api/v1/sync', member.key, undefined, member.target);
    const state = current.body ?? {};
    const reservation = state.reservation;
    if (reservation?.id) await send('DELETE', `/api/v1/reservations/${reservation.id}`, member.key, undefined, member.target);
    if (state.rental?.id) await send('POST', `/api/v1/rentals/${state.rental.id}/return`, member.key, { stationId: member.stationId }, member.target);
    await sleep(100);
  };

  const loop = async (member) => {
    let odometer = 0;
    for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
      const t0 = performance.now();
      const reserved = await send('POST', '/api/v1/reservations', member.key, { vehicleId: member.vehicleId }, member.target);
      instances[reserved.instance] = (instances[reserved.instance] ?? 0) + 1;
      if (reserved.status !== 201) {
        fail(member, 'reserve', reserved);
        await recover(member);
        continue;
      }
      const rented = await send('POST', '/api/v1/rentals', member.key, { reservationId: reserved.body.id }, member.target);
      instances[rented.instance] = (instances[rented.instance] ?? 0) + 1;
      if (rented.status !== 201) {
        fail(member, 'rent', rented);
        await recover(member);
        continue;
      }
      // The drive: the car reports its odometer (0-20 km more), as the vehicle link would.
      odometer += Math.floor(Math.random() * 20_000);
      await db.query('UPDATE vehicles SET odometer_m = $2, reported_at = now() WHERE id = $1', [member.vehicleId, odometer]);
      const returnSent = performance.now();
      const returned = await send('POST', `/api/v1/rentals/${rented.body.id}/return`, member.key, { stationId: member.stationId }, member.target);
      instances[returned.instance] = (instances[returned.instance] ?? 0) + 1;
      if (returned.status !== 200) {
        fail(member, 'return', returned);
        await recover(member);
        continue;
      }
      const returnedAt = performance.now();
      const totalFen = Number(returned.body.totalFen);
      returnedRentals.push(rented.body.id);
      billedFenDriver += totalFen;
      const at = totalFen > 0 ? await billed(`rental:${rented.body.id}:rental`) : returnedAt;
      if (at === undefined) {
        billedTimeouts += 1;
        fail(member, 'billed', { status: 0, body: { error: 'ledger row not seen within 60 s' } });
        continue;
      }
      const done = Math.max(at, returnedAt);
      completedTotal += 1;
      if (t0 >= measureFrom && done <= deadline) {
        completedInWindow += 1;
        steps.reserve.push(reserved.ms);
        steps.rent.push(rented.ms);
        steps.return.push(returned.ms);
        steps.billed.push(done - returnSent);
        steps.rental.push(done - t0);
      }
    }
  };

  const pids = Object.fromEntries(
    (process.env.BENCH_PIDS ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  );
  const cpuAtStart = {};
  let cpuTimer;
  // CPU time of each process over the measured window (sampled when the window opens).
  const cpuWindow = new Promise((resolve) => {
    cpuTimer = setTimeout(() => {
      for (const [name, pid] of Object.entries(pids)) cpuAtStart[name] = cpuSeconds(Number(pid));
      cpuAtStart.driver = process.cpuUsage();
      setTimeout(() => {
        const used = {};
        for (const [name, pid] of Object.entries(pids)) {
          const after = cpuSeconds(Number(pid));
          if (after !== undefined && cpuAtStart[name] !== undefined) used[name] = after - cpuAtStart[name];
        }
        const d = process.cpuUsage(cpuAtStart.driver);
        used.driver = (d.user + d.system) / 1e6;
        resolve(used);
      }, DURATION_MS);
    }, WARMUP_MS);
  });

  await Promise.all(fleet.map(loop));
  const cpu = await cpuWindow;
  clearTimeout(cpuTimer);
  watching = false;
  await watcher;

  // Exactly-once: every returned rental has one ledger row, the amounts match the bills.
  const {
    rows: [check],
  } = await db.query(
    `WITH r AS (SELECT id, total_fen FROM rentals WHERE id = ANY($1::uuid[]))
     SELECT (SELECT count(*) FROM r)::int AS rentals,
            (SELECT count(*) FROM rentals WHERE status = 'ended' AND member_id = ANY($2::uuid[]))::int AS ended,
            (SELECT coalesce(sum(total_fen), 0) FROM r)::bigint AS billed_fen,
            (SELECT count(*) FROM ledger l WHERE l.reference LIKE 'rental:%' AND l.member_id = ANY($2::uuid[]))::int AS ledger_rows,
            (SELECT count(DISTINCT l.reference) FROM ledger l WHERE l.member_id = ANY($2::uuid[]))::int AS distinct_refs,
            (SELECT count(*) FROM ledger l WHERE l.member_id = ANY($2::uuid[]))::int AS all_rows,
            (SELECT coalesce(-sum(amount_fen), 0) FROM ledger l WHERE l.member_id = ANY($2::uuid[]))::bigint AS ledger_fen,
            (SELECT count(*) FROM ledger l JOIN r ON l.reference = 'rental:' || r.id || ':rental' AND -l.amount_fen = r.total_fen)::int AS matched,
            (SELECT count(*) FROM rental_deduction_outbox WHERE published_at IS NULL)::int AS unpublished,
            (SELECT count(*) FROM members m WHERE m.id = ANY($2::uuid[])
               AND m.wallet_balance_fen <> $3 + (SELECT coalesce(sum(amount_fen), 0) FROM ledger l WHERE l.member_id = m.id))::int AS broken_balances`,
    [returnedRentals, fleet.map((m) => m.memberId), initialBalanceFen],
  );
  const { rows: dbLatency } = await db.query(
    `SELECT extract(epoch FROM l.created_at - r.ended_at) * 1000 AS ms FROM rentals r JOIN ledger l ON l.reference = 'rental:' || r.id || ':rental'
      WHERE r.id = ANY($1::uuid[])`,
    [returnedRentals],
  );
  let billingMetrics = {};
  if (process.env.BILLING_URL) {
    try {
      const text = await (await fetch(`${process.env.BILLING_URL}/metrics`)).text();
      for (const name of [
        'billing_deductions_applied_total',
        'billing_deductions_duplicate_total',
        'billing_deductions_failed_total',
        'billing_deductions_rejected_total',
      ]) {
        billingMetrics[name] = text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      }
    } catch (error) {
      billingMetrics = { error: String(error) };
    }
  }
  const exactlyOnce =
    check.rentals === returnedRentals.length &&
    check.ended === returnedRentals.length &&
    check.ledger_rows === returnedRentals.length &&
    check.all_rows === check.ledger_rows &&
    check.distinct_refs === check.all_rows &&
    check.matched === returnedRentals.length &&
    Number(check.ledger_fen) === Number(check.billed_fen) &&
    Number(check.billed_fen) === billedFenDriver &&
    check.broken_balances === 0;
  const result = {
    members: fleet.length,
    durationS: DURATION_MS / 1000,
    warmupS: WARMUP_MS / 1000,
    completedInWindow,
    completedTotal,
    rentalsPerSecond: completedInWindow / (DURATION_MS / 1000),
    steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, summary(v)])),
    billedDbSide: summary(dbLatency.map((r) => Number(r.ms))),
    errors: errors.length,
    errorKinds: errors.reduce((acc, e) => ((acc[`${e.step} ${e.status} ${e.type}`] = (acc[`${e.step} ${e.status} ${e.type}`] ?? 0) + 1), acc), {}),
    billedTimeouts,
    // Requests sent again by the retry rule (shed answers), all steps.
    retries,
    returns: returnedRentals.length,
    check: { ...check, billed_fen: Number(check.billed_fen), ledger_fen: Number(check.ledger_fen), driver_fen: billedFenDriver },
    exactlyOnce,
    unlockCommands: commands,
    unlockResends: resent,
    ledgerPolls: polls,
    instances,
    cpuSecondsInWindow: cpu,
    billingMetrics,
  };
  fs.writeFileSync(process.env.BENCH_OUT ?? 'result.json', JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
  agent.destroy();
  await bus.close();
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
