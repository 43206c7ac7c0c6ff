// @ts-check
// Turns the rental driver's result.json into the "Rental" section of docs/BENCHMARKS.md.
// Usage: node report.js <result.json> <durationS> <warmupS> <members> <loadavg> <cpu PSI avg60>
'use strict';
const fs = require('node:fs');
const os = require('node:os');

const [file, duration, warmup, members, loadBefore, psi] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const c = r.check;
const gib = (os.totalmem() / 2 ** 30).toFixed(0);
const cpu = Object.entries(r.cpuSecondsInWindow)
  .map(([name, s]) => [name, s])
  .sort((a, b) => b[1] - a[1])
  .map(([name, s]) => `${name} ${((100 * s) / Number(duration)).toFixed(0)} %`)
  .join(', ');
const platformCpu = Object.entries(r.cpuSecondsInWindow).filter(([name]) => name !== 'driver');
const perRental = (seconds) => (r.completedInWindow ? ((1000 * seconds) / r.completedInWindow).toFixed(1) : '–');
const cpuPerRental = `${perRental(platformCpu.reduce((s, [, v]) => s + v, 0))} ms (${platformCpu
  .sort((a, b) => b[1] - a[1])
  .filter(([, v]) => v > 0)
  .map(([name, v]) => `${name} ${perRental(v)}`)
  .join(', ')}; PostgreSQL, Redis and NATS not counted)`;
const row = (label, s) => `| ${label} | ${s.n} | ${s.p50} | ${s.p99} | ${s.max} |`;
const lines = [
  `Command: \`bash bench/rental/run.sh\` (BENCH_MEMBERS=${members}, BENCH_DURATION=${duration}, BENCH_WARMUP=${warmup}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${gib} GiB, Node ${process.version}; PostgreSQL, Redis and NATS on loopback; the driver on the same machine; load average ${loadBefore} when the run started, CPU pressure (PSI "some", last 60 s) ${psi} % at its end. **Other engineers were running test suites on this machine at the same time**, so the numbers are a lower bound and vary between runs.`,
  '',
  `Platform: \`services/stack\` with STACK_MODE=processes, APP_INSTANCES=2, AUTOSCALE=false, LOG_LEVEL=warn (gateway, auth, heartbeat, billing, SMS and 2 APP processes; default pools: 10 database connections per process). ${members} members, each with its own car (10 stations), loop through the gateway: reserve, rent from the reservation (the driver acknowledges the unlock command on NATS at once), the car reports 0–20 km driven (one SQL update, not timed), return, then wait until the billing service's ledger row \`rental:<id>:rental\` is there (the driver polls the ledger every 5 ms). Closed loop: the next rental starts when the previous one is billed. ${warmup} s of warm-up, then ${duration} s measured.`,
  '',
  `**${r.rentalsPerSecond.toFixed(1)} rentals/s** sustained (reserve → rent → return → deduction applied; ${r.completedInWindow} complete rentals in ${duration} s), errors: **${r.errors}**${
    r.errors
      ? ` (${Object.entries(r.errorKinds)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')})`
      : ''
  }.`,
  '',
  '| step | n | p50 ms | p99 ms | max ms |',
  '| --- | ---: | ---: | ---: | ---: |',
  row('reserve (`POST /api/v1/reservations`)', r.steps.reserve),
  row('rent, incl. unlock and ack (`POST /api/v1/rentals`)', r.steps.rent),
  row('return, with the bill (`POST /api/v1/rentals/:id/return`)', r.steps.return),
  row('return and deduction applied: return sent → ledger row seen by the driver', r.steps.billed),
  row(
    'deduction applied, in the database: return transaction began (`rentals.ended_at`) → billing transaction began (`ledger.created_at`), all rentals',
    r.billedDbSide,
  ),
  row('whole rental (reserve sent → ledger row seen)', r.steps.rental),
  '',
  `Exactly once (all ${r.returns} returns of the run, warm-up included): ${r.exactlyOnce ? '**passed**' : '**FAILED**'} — ${c.ledger_rows} ledger rows for ${c.ended} ended rentals, ${c.distinct_refs} distinct references of ${c.all_rows} rows, ${c.matched} rows matching their rental's bill, ledger sum ${c.ledger_fen} fen = sum of bills ${c.billed_fen} fen (driver's sum of returned \`totalFen\`: ${c.driver_fen}), ${c.broken_balances} members whose balance differs from the initial balance plus their entries, ${c.unpublished} unpublished outbox rows.` +
    (r.billingMetrics && 'billing_deductions_applied_total' in r.billingMetrics
      ? ` Billing service counters: ${r.billingMetrics.billing_deductions_applied_total} applied, ${r.billingMetrics.billing_deductions_duplicate_total} duplicates, ${r.billingMetrics.billing_deductions_failed_total} failed, ${r.billingMetrics.billing_deductions_rejected_total} rejected.`
      : ''),
  '',
  `Requests by APP instance (\`X-App-Instance\`): ${Object.entries(r.instances)
    .map(([k, v]) => `${k} ${v}`)
    .join(
      ', ',
    )}. Unlock commands received by the cars: ${r.unlockCommands} (${r.unlockResends} resends). CPU used in the measured window (100 % = one core): ${cpu}. CPU time of the platform's processes per complete rental: ${cpuPerRental}.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
