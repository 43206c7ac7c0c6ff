/**
 * bench/cluster (`bash bench/cluster/run.sh`): the two in-cluster entry points under the same load
 * in the same run. The chart on the real one-node cluster (install.ts) with HAProxy (the default
 * entry, the APP backend rendered by the operator) and the evshare gateway beside it
 * (gateway.enabled), both in front of the same APP pods; members' polls (GET /api/v1/sync with a
 * session) from this machine through each entry's Service, the entries alternating round by
 * round. CPU per request is each entry's processes' CPU (/proc: the node is this machine) over the requests
 * it served: the steadier comparison on a machine whose cores the load generator, the node and
 * every pod share. Writes the "Entry points on the cluster" section of docs/BENCHMARKS.md
 * (BENCH_WRITE=0: print only). A measurement, not a test: it asserts only that the load was served.
 */
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { apiRequest } from '../../k8s/kubeconfig';
import { bearer, login, request } from '../../support/http';
import { installOnNode, NAMESPACE, RELEASE, type NodeRelease } from './install';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the bench scripts' shared CommonJS helpers
const { writeSection } = require('../../../bench/rental/common.js') as { writeSection(file: string, name: string, heading: string, body: string): void };

const SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MEMBERS = 8;

interface Round {
  entry: string;
  round: number;
  requests: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
  entryCpuUs: number;
  appCpuUs: number;
  instances: number;
}

/**
 * Cumulative CPU seconds (user + system) of the entries' and the APP's processes, read from /proc:
 * the node is this machine, so the pods' processes are ours to see (the kubelet's summary API has
 * no CPU figures on this node: its cgroups are not per pod). The test HAProxy is told apart by
 * its configuration path, the evshare processes by their entry script.
 */
async function cpuByComponent(): Promise<Map<string, number>> {
  const patterns: Array<[string, string]> = [
    ['haproxy', '/usr/local/etc/haproxy/haproxy.cfg'],
    ['gateway', 'services/gateway/dist/main.js'],
    ['app', 'services/app/dist/main.js'],
  ];
  const ticks = 100; // USER_HZ on Linux
  const totals = new Map<string, number>(patterns.map(([name]) => [name, 0]));
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const [cmdline, stat] = await Promise.all([readFile(`/proc/${pid}/cmdline`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]).catch(() => ['', '']);
    const match = patterns.find(([, needle]) => cmdline.includes(needle));
    if (!match || !stat) continue;
    // Fields after the command name in parentheses: utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    totals.set(match[0], totals.get(match[0])! + (Number(fields[11]) + Number(fields[12])) / ticks);
  }
  return totals;
}

/** CONNECTIONS keep-alive connections, each polling as fast as it is answered, for `seconds`. */
async function poll(url: string, keys: string[], seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  const instances = new Set<string>();
  let failed = 0;
  const until = Date.now() + seconds * 1000;
  const once = (key: string) =>
    new Promise<void>((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.get(`${url}/api/v1/sync`, { agent, headers: bearer(key), timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            instances.add(String(res.headers['x-app-instance']));
          } else failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      while (Date.now() < until) await once(keys[i % keys.length]!);
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { requests: latencies.length, failed, p50: at(0.5), p99: at(0.99), instances: instances.size };
}

async function serviceUrl(release: NodeRelease, name: string): Promise<string> {
  const { body: service } = await apiRequest(release.node, 'GET', `/api/v1/namespaces/${NAMESPACE}/services/${RELEASE}-${name}`);
  return `http://${service.spec.clusterIP}:${service.spec.ports[0].port}`;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

describe('entry points on the one-node cluster', () => {
  let release: NodeRelease;
  beforeAll(async () => {
    release = await installOnNode({ gatewayBeside: true });
  }, 20 * 60_000);
  afterAll(() => release?.stop(), 120_000);

  it(
    'serves the same polls through HAProxy and the evshare gateway, round by round',
    async () => {
      const entries = { HAProxy: { url: release.url, component: 'haproxy' }, gateway: { url: await serviceUrl(release, 'gateway'), component: 'gateway' } };
      const admin = await login(release.url, 'admin', release.adminPassword);
      const keys: string[] = [];
      for (let i = 0; i < MEMBERS; i++) {
        const account = `1397${String(Date.now() + i).slice(-7)}`;
        const password = 'bench-cluster-member-password';
        const created = await request(`${release.url}/api/v1/admin/members`, {
          method: 'POST',
          headers: bearer(admin),
          body: { phone: account, displayName: `Bench ${i}`, password },
        });
        expect(created.status).toBe(201);
        keys.push(await login(release.url, account, password));
      }
      // Both entries reach the APP group before anything is measured; a short warm-up each.
      for (const { url } of Object.values(entries)) expect((await poll(url, keys, 3)).requests).toBeGreaterThan(0);

      const rounds: Round[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [entry, { url, component }] of Object.entries(entries)) {
          const before = await cpuByComponent();
          const started = Date.now();
          const result = await poll(url, keys, SECONDS);
          const elapsed = (Date.now() - started) / 1000;
          const after = await cpuByComponent();
          const cpu = (name: string) => ((after.get(name) ?? 0) - (before.get(name) ?? 0)) * 1e6;
          rounds.push({
            entry,
            round,
            requests: result.requests,
            failed: result.failed,
            rps: result.requests / elapsed,
            p50: result.p50,
            p99: result.p99,
            entryCpuUs: cpu(component) / result.requests,
            appCpuUs: cpu('app') / result.requests,
            instances: result.instances,
          });
          console.log(JSON.stringify(rounds.at(-1)));
        }
      }
      for (const r of rounds) expect([r.entry, r.round, r.requests > 0]).toEqual([r.entry, r.round, true]);

      const of = (entry: string) => rounds.filter((r) => r.entry === entry);
      const ratio = (pick: (r: Round) => number) => median(of('gateway').map((g, i) => pick(g) / pick(of('HAProxy')[i]!)));
      const cpus = os.cpus();
      const lines = [
        `Run: \`bash bench/cluster/run.sh\` (BENCH_DURATION=${SECONDS}, BENCH_ROUNDS=${ROUNDS}, BENCH_CONNECTIONS=${CONNECTIONS}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
        `Machine: ${cpus.length} cores (${cpus[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; the chart on the one-node cluster of \`make e2e-node\` (kubelet, containerd, kube-proxy in iptables mode), the images built here (HAProxy: Debian's 2.6 package), all sharing the machine's cores with the load generator.`,
        '',
        `Load: ${CONNECTIONS} keep-alive connections from this machine, each sending \`GET /api/v1/sync\` with one of ${MEMBERS} members' sessions as soon as the last answer came, through the entry's ClusterIP Service; the entries alternate round by round against the same APP pods (the operator's group, scaling by their load as in production). Entry CPU: the entry pods' processes' user + system CPU (/proc, the node being this machine) over the round, per request served; APP CPU likewise for the APP pods' processes.`,
        '',
        '| round | entry | req/s | p50 / p99 ms | failed | entry CPU µs/req | APP CPU µs/req | APP pods answering |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...rounds.map(
          (r) =>
            `| ${r.round} | ${r.entry} | ${Math.round(r.rps)} | ${fixed(r.p50, 2)} / ${fixed(r.p99, 2)} | ${r.failed} | ${fixed(r.entryCpuUs)} | ${fixed(r.appCpuUs)} | ${r.instances} |`,
        ),
        '',
        `- The gateway against HAProxy, median of the rounds' ratios: throughput **${fixed(
          ratio((r) => r.rps),
          2,
        )}**, entry CPU per request **${fixed(
          ratio((r) => r.entryCpuUs),
          2,
        )}**, p99 **${fixed(
          ratio((r) => r.p99),
          2,
        )}**.`,
      ];
      const text = lines.join('\n');
      console.log(text);
      if (process.env.BENCH_WRITE !== '0')
        writeSection(path.resolve(__dirname, '../../../docs/BENCHMARKS.md'), 'cluster-bench', 'Entry points on the cluster', text);
    },
    30 * 60_000,
  );
});
