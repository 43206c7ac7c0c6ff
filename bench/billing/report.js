// @ts-check
// Turns the billing driver's result.json into the "Billing" section of docs/BENCHMARKS.md.
// Usage: node report.js <result.json> <loadavg before the run> <cpu PSI avg60 after>
'use strict';
const fs = require('node:fs');
const os = require('node:os');

const [file, loadBefore, psi] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const [clean, kill] = r.phases;
const f0 = (v) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const s1 = (ms) => (ms / 1000).toFixed(1);
const checkText = (p) =>
  `${p.check.ok ? '**passed**' : '**FAILED**'}: ${p.check.rows} ledger rows, ${p.check.distinctReferences} distinct references, sum ${p.check.ledgerFen} fen = published ${p.check.expectedFen} fen, ${p.check.mismatchedAmounts} amounts differing from their message, ${p.check.brokenBalances} member balances and ${p.check.brokenChainEntries} balance-chain entries out of line`;
const row = (label, p) =>
  `| ${label} | ${f0(p.deductions)} | ${s1(p.elapsedMs)} | ${f0(p.wallRate)} | ${f0(p.middleRate)} | ${f0(p.ledgerSpanRate)} | ${p.check.ok ? 'yes' : 'NO'} |`;
const lines = [
  `Command: \`bash bench/billing/run.sh\` (BENCH_DEDUCTIONS=${clean.deductions}, BENCH_MEMBERS=${clean.members}, BENCH_ACK_WAIT_MS=${r.ackWaitMs}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; PostgreSQL, Redis and NATS on loopback; load average ${loadBefore} when the run started, CPU pressure (PSI "some", last 60 s) ${psi} % at its end. **Other engineers were running test suites on this machine at the same time**, so the numbers are a lower bound and vary between runs.`,
  '',
  `Per phase: ${clean.deductions.toLocaleString('en-US')} deductions (kind \`rental\`, 1–5,000 fen, round-robin over ${clean.members.toLocaleString('en-US')} members with enough balance, so no debt SMS) are published into the DEDUCTIONS stream first (${f0(clean.publishPerSecond)} publishes/s from one connection, 256 in flight; 100 of them published again: ${clean.republishedDuplicates}/100 dropped by the stream as duplicates), then one billing process (\`services/billing/dist/main.js\`) is started and the ledger is counted every 50 ms until it holds them all. Each deduction is one transaction (member row locked, ledger insert, balance update, receipt notice), then a receipt on EVENTS, the member's sync version in Redis, the push, the ack.`,
  '',
  '| phase | deductions | seconds (start to last) | deductions/s, whole phase | deductions/s, 10 %–90 % | deductions/s, first to last ledger row | exactly once |',
  '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  row('undisturbed', clean),
  row(`billing SIGKILLed and restarted at ${kill.kills.map((k) => f0(k.atCount)).join(' and ')} applied`, kill),
  '',
  `- Undisturbed: ${checkText(clean)}. Counters: ${clean.finalMetrics ? `${clean.finalMetrics.applied} applied, ${clean.finalMetrics.duplicate} duplicates, ${clean.finalMetrics.failed} failed, ${clean.finalMetrics.rejected} rejected` : 'not read'}. Billing process CPU: ${clean.billingCpuSeconds.toFixed(1)} s in ${s1(clean.elapsedMs)} s (${((100 * clean.billingCpuSeconds) / (clean.elapsedMs / 1000)).toFixed(0)} % of one core).`,
  `- With kills: ${checkText(kill)}. Restart (SIGKILL to the new process answering /healthz): ${kill.kills.map((k) => `${f0(k.restartMs)} ms`).join(', ')}; the deduction in hand at each kill is redelivered after the ack wait (BILLING_ACK_WAIT_MS=${r.ackWaitMs} here, 30,000 by default), and the 50 ms samples of the ledger count show no progress for ${s1(kill.stalledMs)} s in all. Last process's counters: ${kill.finalMetrics ? `${kill.finalMetrics.applied} applied, ${kill.finalMetrics.duplicate} duplicates (deliveries of a deduction already in the ledger: one committed just before a kill and not acked)` : 'not read'}.`,
  `- One deduction on an idle billing service, publish to ledger row (50 in a row, 1 ms polling): p50 ${r.singleDeductionMs.p50} ms, p99 ${r.singleDeductionMs.p99} ms.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
