// @ts-check
// Turns the billing driver's result.json into the "Billing" section of docs/BENCHMARKS.md.
// Usage: node report.js <result.json> <loadavg before the run> <cpu PSI avg60 after>
'use strict';
const fs = require('node:fs');
const os = require('node:os');

const [file, loadBefore, psi] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const f0 = (v) => (v === undefined || Number.isNaN(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const ms = (v) => (v === undefined ? '–' : v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'));
const median = (values) => {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values, fmt = f0) => {
  const v = values.filter((x) => x !== undefined);
  return v.length ? `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})` : '–';
};
const variants = [...new Set(r.results.map((x) => x.variant))];
const rates = r.results[0].paced.map((p) => p.rate);
const of = (variant) => r.results.filter((x) => x.variant === variant);
const exact = (x) => x.clean.check.ok && x.kill.check.ok && x.paced.every((p) => p.skipped || p.ok);
const batchMean = (p) => (p.finalMetrics && p.finalMetrics.batches > 0 ? p.finalMetrics.applied / p.finalMetrics.batches : undefined);

const lines = [
  `Command: \`bash bench/billing/run.sh\` (BENCH_DEDUCTIONS=${of(variants.find((v) => !v.startsWith('baseline')) ?? variants[0])[0].clean.deductions}, BENCH_BASELINE_DEDUCTIONS=${of(variants.find((v) => v.startsWith('baseline')) ?? variants[0])[0].clean.deductions}, BENCH_MEMBERS=${r.members}, BENCH_ROUNDS=${r.rounds}, BENCH_ACK_WAIT_MS=${r.ackWaitMs}, BENCH_PACED_RATES=${rates.join(',')}, BENCH_PACED_SECONDS=${r.pacedSeconds}; BILLING_CONCURRENCY ${r.billingEnv.BILLING_CONCURRENCY}, BILLING_BATCH_MAX ${r.billingEnv.BILLING_BATCH_MAX}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; PostgreSQL 15 (synchronous_commit on, fsync on: a real deployment's durability), Redis and NATS on loopback; load average ${loadBefore} when the run started, CPU pressure (PSI "some", last 60 s) ${psi} % at its end. **Other engineers were running test suites on this machine at the same time**, so the numbers are a lower bound and vary between runs; the rounds alternate the variants' order and the medians (range in brackets) are what to compare.`,
  '',
  'Variants: `baseline` is the billing service before this change (one deduction in hand per process, one transaction each; built from the commit in BENCH_BASELINE_REF); `current` is this tree (BILLING_CONCURRENCY transactions in flight per process, each applying up to BILLING_BATCH_MAX deductions, one member never in two at once); `×n` is the number of billing processes on the shared durable. Per phase the deductions (kind `rental`, 1–5,000 fen, round-robin over the members) are published into the stream first, then the processes start and the ledger is counted every 50 ms until it holds them all. "kill": every process SIGKILLed and restarted at 1/3 and 2/3. "paced": deductions published at a fixed rate with the processes running, each timed from its publish to its receipt event (billing publishes it right after the ledger row committed; the driver subscribes); a rate above 80 % of the variant\'s undisturbed rate is skipped (it would only measure the queue).',
  '',
  '| round | variant | deductions/s undisturbed (10 %–90 %) | deductions/s with kills (whole phase) | deductions per transaction | billing CPU ms per deduction | ' +
    rates.map((x) => `p50 / p99 ms at ${x}/s`).join(' | ') +
    ' | exactly once |',
  `| --- | --- | ---: | ---: | ---: | ---: | ${rates.map(() => '---:').join(' | ')} | --- |`,
  ...r.results.map(
    (x) =>
      `| ${x.round} | ${x.variant} | ${f0(x.clean.middleRate)} | ${f0(x.kill.wallRate)} | ${batchMean(x.clean)?.toFixed(1) ?? '–'} | ${((1000 * x.clean.billingCpuSeconds) / x.clean.deductions).toFixed(2)} | ${x.paced
        .map((p) => (p.skipped ? 'skipped' : `${ms(p.p50)} / ${ms(p.p99)}`))
        .join(' | ')} | ${exact(x) ? 'yes' : '**NO**'} |`,
  ),
  '',
  '| variant | median undisturbed deductions/s (range) | median with kills | ' +
    rates.map((x) => `median p99 ms at ${x}/s`).join(' | ') +
    ' | exactly once, all rounds |',
  `| --- | ---: | ---: | ${rates.map(() => '---:').join(' | ')} | --- |`,
  ...variants.map((v) => {
    const xs = of(v);
    return `| ${v} | ${spread(xs.map((x) => x.clean.middleRate))} | ${spread(xs.map((x) => x.kill.wallRate))} | ${rates
      .map((rate) => {
        const ps = xs.map((x) => x.paced.find((p) => p.rate === rate)).filter((p) => p && !p.skipped);
        return ps.length
          ? spread(
              ps.map((p) => p.p99),
              ms,
            )
          : 'skipped';
      })
      .join(' | ')} | ${xs.every(exact) ? '**yes**' : '**NO**'} |`;
  }),
  '',
];
// Ratios within each round (the same machine state), then their median.
const ratio = (a, b) => {
  const values = [];
  for (let round = 1; round <= r.rounds; round++) {
    const x = r.results.find((y) => y.round === round && y.variant === a);
    const y = r.results.find((z) => z.round === round && z.variant === b);
    if (x?.clean.middleRate && y?.clean.middleRate) values.push(x.clean.middleRate / y.clean.middleRate);
  }
  return values.length ? `${median(values).toFixed(2)} (rounds: ${values.map((v) => v.toFixed(2)).join(', ')})` : undefined;
};
const pairs = [];
for (let i = 0; i < variants.length; i++) for (let j = 0; j < i; j++) pairs.push([variants[i], variants[j]]);
for (const [a, b] of pairs) {
  const text = ratio(a, b);
  if (text) lines.push(`- Undisturbed rate, ${a} / ${b}, within each round: median ${text}.`);
}
for (const x of r.results.filter((y) => !exact(y)))
  lines.push(`- **FAILED** exactly-once in round ${x.round}, ${x.variant}: ${JSON.stringify({ clean: x.clean.check, kill: x.kill.check })}`);
const allKills = r.results.map((x) => x.kill);
lines.push(
  `- Exactly-once checks per phase: ledger rows = deductions published, one row per reference, every amount equal to its message, the ledger sum equal to the published fees, every member's balance = initial + entries and every entry's balance after = the previous one's + its amount. Duplicates counted by the last processes of the kill phases (deliveries of deductions committed but not acked when killed): ${allKills.map((k) => k.finalMetrics?.duplicate ?? '?').join(', ')}; restart after SIGKILL (to /healthz): median ${f0(median(allKills.flatMap((k) => k.kills.map((kk) => kk.restartMs))))} ms.`,
);
process.stdout.write(`${lines.join('\n')}\n`);
