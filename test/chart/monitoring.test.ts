/**
 * The Prometheus Operator objects rendered by helm: a ServiceMonitor over every evshare process's
 * metrics port and a PrometheusRule whose alerts select only series the processes really export.
 * test/chart/apiserver.test.ts applies both to a real kube-apiserver with the operator's CRDs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO, find, render, renderText, type K8sObject } from './helm';

jest.setTimeout(30_000);

const MONITORING = { metrics: { serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } }, prometheusRule: { enabled: true } } };

/** The text of every non-test TypeScript source of the services and the operator. */
function sources(): string {
  return ['services', 'operator']
    .flatMap((root) =>
      readdirSync(path.join(REPO, root), { recursive: true, encoding: 'utf8' })
        .filter(
          (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts') && !file.includes('node_modules') && !file.includes('dist/'),
        )
        .map((file) => readFileSync(path.join(REPO, root, file), 'utf8')),
    )
    .join('\n');
}

describe('metrics objects', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({ entrypoint: 'gateway', ...MONITORING });
  });

  it('renders none unless asked', async () => {
    expect((await render({})).filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/') || o.metadata.name.endsWith('-metrics'))).toEqual([]);
  });

  it('scrapes the services on http, the gateway on its admin port (not its public one) and the operator on metrics', () => {
    const monitor = find(objects, 'ServiceMonitor', 'evs-evshare');
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    const service = find(objects, 'Service', 'evs-evshare-metrics');
    expect(monitor.spec.selector.matchLabels).toEqual(
      Object.fromEntries(
        Object.entries(service.metadata.labels!).filter(([k]) =>
          ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component'].includes(k),
        ),
      ),
    );
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['evshare'] });
    expect(monitor.spec.endpoints.map((e: { port: string; path: string; honorLabels: boolean }) => [e.port, e.path, e.honorLabels])).toEqual([
      ['http', '/metrics', true],
      ['admin', '/metrics', true],
      ['metrics', '/metrics', true],
    ]);
    expect(monitor.spec.endpoints[0].relabelings).toEqual([
      { action: 'drop', sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], regex: 'gateway' },
    ]);
    // Headless over every pod of the release, by the named ports the workloads declare.
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'evshare', 'app.kubernetes.io/instance': 'evs' });
    const portNames = new Set(
      objects.filter((o) => o.kind === 'Deployment').flatMap((d) => d.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name) as string[]),
    );
    for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
  });

  it('alerts on APP saturation, stuck scaling, billing lag, the vehicle link and offline piles', () => {
    const rule = find(objects, 'PrometheusRule', 'evs-evshare');
    const alerts = rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert);
    expect(alerts).toEqual([
      'EvshareAppSaturated',
      'EvshareScalingStuck',
      'EvshareOperatorNoLeader',
      'EvshareBillingLag',
      'EvshareVehicleLinkDown',
      'EvsharePilesOffline',
    ]);
    for (const r of rule.spec.groups[0].rules) {
      expect([r.alert, r.for, r.labels.severity, typeof r.annotations.summary]).toEqual([
        r.alert,
        expect.stringMatching(/^\d+m$/),
        expect.any(String),
        'string',
      ]);
    }
  });

  it("selects only this release's series (two releases in one namespace alert apart)", async () => {
    const exprs = find(objects, 'PrometheusRule', 'evs-evshare')
      .spec.groups[0].rules.map((r: { expr: string }) => r.expr)
      .join('\n');
    const selectors = [...exprs.matchAll(/[a-z_:]+\{([^}]*)\}/g)].map((m) => m[1]);
    expect(selectors.length).toBeGreaterThan(10);
    for (const selector of selectors) expect(selector).toMatch(/^job="evs-evshare-metrics"/);
    const other = find(await render({ ...MONITORING }, { release: 'other' }), 'PrometheusRule', 'other-evshare');
    expect(JSON.stringify(other.spec)).not.toContain('evs-evshare-metrics');
  });

  it('uses only metrics the processes export (a renamed metric would silence an alert)', () => {
    const exprs = find(objects, 'PrometheusRule', 'evs-evshare')
      .spec.groups[0].rules.map((r: { expr: string }) => r.expr)
      .join('\n');
    const used = new Set([...exprs.matchAll(/([a-z_:]+)\{/g)].map((m) => m[1]!));
    const code = sources();
    // `up` is Prometheus's own per target; the container label it is selected by is the workload's name.
    const missing = [...used].filter((name) => name !== 'up' && !code.includes(`'${name}'`));
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(6);
    for (const container of [...exprs.matchAll(/container="([a-z-]+)"/g)].map((m) => m[1]))
      expect(find(objects, 'Deployment', `evs-evshare-${container}`).spec.template.spec.containers[0].name).toBe(container);
  });

  it('takes the alert delays from values', async () => {
    const rule = find(
      await render({ metrics: { ...MONITORING.metrics, prometheusRule: { enabled: true, for: { pilesOffline: '1h' } } } }),
      'PrometheusRule',
      'evs-evshare',
    );
    expect(rule.spec.groups[0].rules.find((r: { alert: string }) => r.alert === 'EvsharePilesOffline').for).toBe('1h');
  });

  it('refuses the rule without the ServiceMonitor whose series it selects', async () => {
    await expect(renderText({ metrics: { prometheusRule: { enabled: true } } })).rejects.toThrow(/enable metrics\.serviceMonitor too/);
  });
});
