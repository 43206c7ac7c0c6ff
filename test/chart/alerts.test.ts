/**
 * The chart's alert rules run by Prometheus's own rule engine: `promtool check rules` parses the
 * rendered PrometheusRule's groups, and `promtool test rules` feeds each alert the series of an
 * incident and of a healthy platform (series named and labelled as the ServiceMonitor scrapes
 * them: job <release>-metrics, the process's own service label, the container's name).
 * promtool comes from Debian's prometheus package (PROMTOOL_BIN to use another).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';
import { find, render } from './helm';

jest.setTimeout(30_000);

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const JOB = 'job="evs-evshare-metrics"';

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

let dir: string;
let groups: Array<{ name: string; rules: Rule[] }>;

beforeAll(async () => {
  const objects = await render({ metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } });
  groups = find(objects, 'PrometheusRule', 'evs-evshare').spec.groups;
  dir = await mkdtemp(path.join(tmpdir(), 'evshare-alerts-'));
  await writeFile(path.join(dir, 'rules.yaml'), dump({ groups }));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function promtool(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: dir });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string; code?: number | string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} is missing: install Debian's prometheus package (it brings promtool), or set PROMTOOL_BIN`);
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The alert as Prometheus would fire it: its rule's labels and annotations ({{ $labels.x }} filled in). */
function firing(alert: string, labels: Record<string, string> = {}) {
  const rule = groups[0]!.rules.find((r) => r.alert === alert);
  if (!rule) throw new Error(`no alert ${alert}`);
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => [k, v.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_m, name: string) => labels[name] ?? '')]),
  );
  return { exp_labels: { ...labels, ...rule.labels }, exp_annotations: annotations };
}

/** Runs one promtool unit test: `series` (name{labels} -> values), then the alerts expected at each time. */
async function scenario(series: Record<string, string>, checks: Array<{ at: string; alert: string; expect: ReturnType<typeof firing>[] }>) {
  const file = path.join(dir, `test-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    dump({
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: Object.entries(series).map(([s, values]) => ({ series: s, values })),
          alert_rule_test: checks.map((c) => ({ eval_time: c.at, alertname: c.alert, exp_alerts: c.expect })),
        },
      ],
    }),
  );
  return promtool(['test', 'rules', path.basename(file)]);
}

/** Every scraped process up, as on a healthy platform. */
const allUp = Object.fromEntries(['app', 'billing', 'telematics', 'charging'].map((c) => [`up{${JOB},container="${c}"}`, '1x150']));

it('the rendered rules parse (promtool check rules)', async () => {
  const { ok, output } = await promtool(['check', 'rules', 'rules.yaml']);
  expect({ ok, output }).toEqual({ ok: true, output: expect.stringMatching(/SUCCESS: 6 rules found/) });
});

describe.each([
  [
    'EvshareAppSaturated',
    'the APP sheds 2 % of its requests',
    {
      [`admission_shed_total{${JOB},service="app",tier="member",reason="full"}`]: '0+120x40',
      [`http_requests_total{${JOB},service="app",route="/api/v1/sync"}`]: '0+6000x40',
    },
    'an APP that sheds 0.5 %',
    {
      [`admission_shed_total{${JOB},service="app",tier="member",reason="full"}`]: '0+30x40',
      [`http_requests_total{${JOB},service="app",route="/api/v1/sync"}`]: '0+6000x40',
    },
    {},
  ],
  [
    'EvshareScalingStuck',
    'the leader wants 5 APP pods and the Deployment has 3',
    {
      [`evshare_operator_desired_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-a"}`]: '5x40',
      [`evshare_operator_current_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-a"}`]: '3x40',
      [`evshare_operator_leader{${JOB},pod="op-a"}`]: '1x40',
    },
    'a standby with stale numbers while the leader is in step',
    {
      [`evshare_operator_desired_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-a"}`]: '5x40',
      [`evshare_operator_current_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-a"}`]: '5x40',
      [`evshare_operator_leader{${JOB},pod="op-a"}`]: '1x40',
      [`evshare_operator_desired_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-b"}`]: '4x40',
      [`evshare_operator_current_replicas{${JOB},namespace="evshare",group="evs-evshare-app",pod="op-b"}`]: '2x40',
      [`evshare_operator_leader{${JOB},pod="op-b"}`]: '0x40',
    },
    { namespace: 'evshare', group: 'evs-evshare-app', pod: 'op-a', job: 'evs-evshare-metrics' },
  ],
  [
    'EvshareOperatorNoLeader',
    'no operator holds the Lease',
    { [`evshare_operator_leader{${JOB},pod="op-a"}`]: '0x40', [`evshare_operator_leader{${JOB},pod="op-b"}`]: '0x40' },
    'one leader and one standby',
    { [`evshare_operator_leader{${JOB},pod="op-a"}`]: '1x40', [`evshare_operator_leader{${JOB},pod="op-b"}`]: '0x40' },
    {},
  ],
  [
    'EvshareBillingLag',
    'deductions keep failing',
    { ...allUp, [`billing_deductions_failed_total{${JOB},service="billing"}`]: '0+3x40' },
    'billing applying everything',
    {
      ...allUp,
      [`billing_deductions_failed_total{${JOB},service="billing"}`]: '0x40',
      [`billing_deductions_applied_total{${JOB},service="billing",kind="rental"}`]: '0+3x40',
    },
    {},
  ],
  [
    'EvshareVehicleLinkDown',
    'the telematics pod down',
    { ...allUp, [`up{${JOB},container="telematics"}`]: '0x40', [`telematics_vehicles_online{${JOB},service="telematics"}`]: '50x40' },
    'the link up with its cars online',
    { ...allUp, [`telematics_vehicles_online{${JOB},service="telematics"}`]: '50x40' },
    {},
  ],
  [
    'EvsharePilesOffline',
    'most piles gone',
    { ...allUp, [`ocpp_connected_piles{${JOB},service="charging",instance="charging-a"}`]: '20x70 4x40' },
    'the piles connected',
    { ...allUp, [`ocpp_connected_piles{${JOB},service="charging",instance="charging-a"}`]: '20x110' },
    {},
  ],
])('%s', (alert, incident, incidentSeries, healthy, healthySeries, labels) => {
  it(`fires on ${incident}, only once it has lasted its "for"`, async () => {
    // Late enough for each rule's window and delay (pilesOffline compares with an hour before).
    const at = alert === 'EvsharePilesOffline' ? '100m' : '35m';
    const { ok, output } = await scenario(incidentSeries, [
      { at: '1m', alert, expect: [] },
      { at, alert, expect: [firing(alert, labels)] },
    ]);
    expect({ ok, output }).toEqual({ ok: true, output: expect.stringMatching(/SUCCESS/) });
  });

  it(`stays quiet for ${healthy}`, async () => {
    const { ok, output } = await scenario(healthySeries, [{ at: alert === 'EvsharePilesOffline' ? '100m' : '35m', alert, expect: [] }]);
    expect({ ok, output }).toEqual({ ok: true, output: expect.stringMatching(/SUCCESS/) });
  });
});

it('EvshareVehicleLinkDown fires when every car online an hour ago is offline, the link up', async () => {
  const { ok, output } = await scenario({ ...allUp, [`telematics_vehicles_online{${JOB},service="telematics"}`]: '50x70 0x40' }, [
    { at: '100m', alert: 'EvshareVehicleLinkDown', expect: [firing('EvshareVehicleLinkDown')] },
  ]);
  expect({ ok, output }).toEqual({ ok: true, output: expect.stringMatching(/SUCCESS/) });
});

it("selects only this release's series: another release's shedding APP does not fire it", async () => {
  const other = 'job="other-evshare-metrics"';
  const { ok, output } = await scenario(
    {
      [`admission_shed_total{${other},service="app",tier="member",reason="full"}`]: '0+120x40',
      [`http_requests_total{${other},service="app",route="/x"}`]: '0+6000x40',
    },
    [{ at: '35m', alert: 'EvshareAppSaturated', expect: [] }],
  );
  expect({ ok, output }).toEqual({ ok: true, output: expect.stringMatching(/SUCCESS/) });
});
