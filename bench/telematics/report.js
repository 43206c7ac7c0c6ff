// @ts-check
// Turns the telematics driver's results (one per broker) into the "Telematics ingest" section of
// docs/BENCHMARKS.md. Usage: node report.js <loadavg before the run> <result.json>...
'use strict';
const fs = require('node:fs');
const os = require('node:os');

const [loadBefore, ...files] = process.argv.slice(2);
const results = files.map((file) => JSON.parse(fs.readFileSync(file, 'utf8')));
const r0 = results[0];
const ms = (v) => (v === undefined ? '–' : `${Math.round(v)} ms`);
const n0 = (v) => Math.round(v).toLocaleString('en-US');
const BROKERS = {
  mosquitto: 'Mosquitto (external, 127.0.0.1:1883; load connections anonymous)',
  embedded: "embedded aedes (in the service's process; load connections use the service's credential)",
};
const lines = [
  `Command: \`bash bench/telematics/run.sh\` (BENCH_CARS=${r0.cars}, BENCH_PERIOD_MS=${r0.periodMs}, BENCH_SECONDS=${r0.seconds}, BENCH_CONNECTIONS=${r0.connections}, BENCH_BROKERS="${results.map((r) => r.broker).join(' ')}"), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; PostgreSQL, NATS, Redis and the broker on loopback; load average ${loadBefore} when the run started. **Other engineers were running test suites on this machine at the same time**, so the numbers vary between runs.`,
  '',
  `${n0(r0.cars)} cars send one telemetry message each every ${r0.periodMs / 1000} s (${n0(r0.publishRate)} messages/s for ${r0.seconds} s) through the broker to the telematics service (\`services/telematics/dist/main.js\`, its own process), which writes the latest report of each car into the vehicles table once per 250 ms in one statement. **The cars are multiplexed over ${n0(r0.connections)} MQTT connections**, each publishing on its ${n0(r0.cars / r0.connections)} cars' own topics: these machines cap a process at 20,000 open files (\`ulimit -Hn\`), so one broker process cannot hold ${n0(r0.cars)} sockets here; the per-connection costs beyond ${n0(r0.connections)} terminals (TCP/TLS, keep-alives, authentication, wills) are not in these numbers.`,
  '',
  `Delay from publish to the new state being readable in the car's vehicles row (what the APP's admin vehicle endpoints read), for every ${r0.cars / r0.sampleCars}th car (${n0(r0.sampleCars)} cars, polled every ${r0.pollMs} ms, so each delay is up to ${r0.pollMs} ms too high), after the first period:`,
  '',
  '| broker | messages published | deliveries measured (expected) | p50 | p90 | p99 | max | cars missing their last message | batch write, mean | telematics CPU | telematics RSS |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...results.map(
    (r) =>
      `| ${BROKERS[r.broker] ?? r.broker} | ${n0(r.published)} | ${n0(r.delays.n)} (${n0(r.expectedSampleDeliveries)}) | ${ms(r.delays.p50)} | ${ms(r.delays.p90)} | ${ms(r.delays.p99)} | ${ms(r.delays.max)} | ${n0(r.staleCars)} | ${((1000 * r.flushSecondsSum) / Math.max(1, r.flushes)).toFixed(1)} ms | ${(100 * r.serviceCpuShare).toFixed(0)} % of a core | ${n0(r.serviceRssMiB)} MiB |`,
  ),
  '',
  `"Cars missing their last message": cars whose row, at the end, does not hold the last message they sent (telemetry is QoS 0). Messages rejected by the service: ${results.map((r) => `${n0(r.rejected)} (${r.broker})`).join(', ')}.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
