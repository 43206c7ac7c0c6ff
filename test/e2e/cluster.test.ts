import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { bearer, eventually, login, request } from '../support/http';
import { startTarget, type E2eTarget } from './target';

/**
 * The cluster side of the e2e suite (a cluster run only: `make e2e-node`, `make e2e`): what an
 * operator sees with kubectl, the operator scaling APP under the member simulator pod's load and
 * back down by the pods' deletion costs, and `helm upgrade` to a new image rolling every
 * Deployment while members poll, with no failed request.
 */
const run = promisify(execFile);
const namespace = process.env.EVSHARE_E2E_NAMESPACE ?? 'evshare';
const release = process.env.EVSHARE_E2E_RELEASE ?? 'evshare';
const chart = path.resolve(__dirname, '..', '..', 'charts', 'evshare');

function access(): string[] {
  if (process.env.EVSHARE_E2E_KUBECONFIG) return [`--kubeconfig=${process.env.EVSHARE_E2E_KUBECONFIG}`];
  return process.env.EVSHARE_E2E_KUBE_CONTEXT ? [`--kube-context=${process.env.EVSHARE_E2E_KUBE_CONTEXT}`] : [];
}

async function kubectl(...args: string[]): Promise<string> {
  const context = process.env.EVSHARE_E2E_KUBECONFIG
    ? access()
    : process.env.EVSHARE_E2E_KUBE_CONTEXT
      ? [`--context=${process.env.EVSHARE_E2E_KUBE_CONTEXT}`]
      : [];
  return (await run(process.env.EVSHARE_E2E_KUBECTL ?? 'kubectl', [...context, '-n', namespace, ...args], { maxBuffer: 16 << 20 })).stdout;
}

describe('evshare on a cluster', () => {
  let target: E2eTarget;
  let member: { account: string; password: string };

  beforeAll(async () => {
    target = await startTarget();
    const admin = await login(target.url, target.admin.account, target.admin.password);
    member = { account: `1391${String(Date.now()).slice(-7)}`, password: 'e2e-cluster-member-password' };
    const created = await request(`${target.url}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(admin),
      body: { phone: member.account, displayName: 'E2E Cluster Member', password: member.password },
    });
    expect(created.status).toBe(201);
  }, 180_000);
  afterAll(() => target?.stop(), 60_000);

  it('shows the APP group with kubectl: printer columns, conditions and the operator events', async () => {
    const table = await kubectl('get', 'asg', '-o', 'wide');
    const [header, row] = table.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'DEPLOYMENT', 'MIN', 'MAX', 'DESIRED', 'CURRENT', 'LOAD/POD', 'TARGET', 'AFFINITY', 'READY', 'AGE']);
    expect(row).toMatch(new RegExp(`^${release}-app\\s+${release}-app\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+\\s+`));
    expect(row).toMatch(/\sTrue\s/);

    const group = JSON.parse(await kubectl('get', 'asg', `${release}-app`, '-o', 'json'));
    const conditions = Object.fromEntries(group.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Ready: 'True', ScalingActive: 'True' });

    // The operator records its decisions as Events on the group; describe lists them.
    await eventually(
      async () => {
        const described = await kubectl('describe', 'asg', `${release}-app`);
        expect(described).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
        expect(described).toMatch(/^\s+Normal\s+ScaleUp\s+.+\s+evshare.io\/operator\s+/m);
      },
      60_000,
      1_000,
    );
  }, 120_000);

  it('scales APP up under load from the member simulator pod, and down after it removing the pods with the fewest members', async () => {
    const podsJson = async () =>
      JSON.parse(await kubectl('get', 'pods', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=app`, '-o', 'json')).items as Array<{
        metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
        status: { conditions?: Array<{ type: string; status: string }> };
      }>;
    const serving = (pods: Awaited<ReturnType<typeof podsJson>>) =>
      pods.filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const helmUpgrade = (...sets: string[]) =>
      run(
        process.env.EVSHARE_E2E_HELM ?? 'helm',
        [...access(), 'upgrade', release, chart, '-n', namespace, '--reuse-values', ...sets, '--wait', '--timeout', '5m'],
        {
          maxBuffer: 16 << 20,
          timeout: 6 * 60_000,
        },
      );
    // Settled first: the earlier tests' load may still hold the group above its minimum.
    const maxReplicas = Number(process.env.EVSHARE_E2E_MAX_APP_REPLICAS ?? 4);
    await eventually(async () => expect(serving(await podsJson()).length).toBeLessThan(maxReplicas), 180_000, 1_000);
    const before = serving(await podsJson()).length;

    // The simulator pod: members provisioned in the database, polling through the release's entry.
    await helmUpgrade(
      '--set',
      'services.member-sim.enabled=true',
      '--set-json',
      'services.member-sim.args=["--provision","40","--interval","20","--burst","4","--ramp","5","--seed","7","--report","5"]',
    );
    let peak = before;
    try {
      await eventually(
        async () => {
          peak = Math.max(peak, serving(await podsJson()).length);
          expect(peak).toBeGreaterThan(before);
        },
        180_000,
        1_000,
      );
    } finally {
      await helmUpgrade('--set', 'services.member-sim.enabled=false');
    }

    // The ReplicaSet removes the pods with the lowest pod-deletion-cost, which the operator sets
    // from each pod's active members (and waits to see set before it scales down): every pod it
    // removes cost no more than any pod it keeps, as the annotations stood just before.
    let last = serving(await podsJson());
    let removed: string[] = [];
    await eventually(
      async () => {
        const pods = await podsJson();
        // Deleted, or going: a pod only unready for a moment is neither.
        const staying = new Set(pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name));
        removed = last.filter((p) => !staying.has(p.metadata.name)).map((p) => p.metadata.name);
        if (removed.length === 0) last = serving(pods);
        expect(removed.length).toBeGreaterThan(0);
      },
      240_000,
      250,
    );
    const cost = (name: string) =>
      Number(last.find((p) => p.metadata.name === name)!.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
    const kept = last.map((p) => p.metadata.name).filter((name) => !removed.includes(name));
    expect(kept.length).toBeGreaterThan(0);
    const costs = { removed: removed.map(cost), kept: kept.map(cost) };
    expect([costs, Math.max(...costs.removed) <= Math.min(...costs.kept)]).toEqual([costs, true]);
  }, 900_000);

  it('rolls every Deployment to a new image tag with helm upgrade, with no failed poll', async () => {
    const nextTag = process.env.EVSHARE_E2E_NEXT_IMAGE_TAG;
    expect(nextTag).toBeTruthy();
    const key = await login(target.url, member.account, member.password);
    const failures: string[] = [];
    let served = 0;
    let running = true;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          const reply = await request(`${target.url}/api/v1/sync`, { headers: bearer(key) });
          if (reply.status === 200) served++;
          else failures.push(`${reply.status} ${reply.body.slice(0, 200)}`);
        } catch (error) {
          failures.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    try {
      await run(
        process.env.EVSHARE_E2E_HELM ?? 'helm',
        [...access(), 'upgrade', release, chart, '-n', namespace, '--reuse-values', '--set', `image.tag=${nextTag}`, '--wait', '--timeout', '10m'],
        {
          maxBuffer: 16 << 20,
          timeout: 11 * 60_000,
        },
      );
      // helm waits for the Deployments it renders; the APP group's is the operator's.
      await kubectl('rollout', 'status', `deployment/${release}-app`, '--timeout=300s');
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const deployments = JSON.parse(await kubectl('get', 'deployments', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json')).items;
    const images = deployments.map((d: { metadata: { name: string }; spec: { template: { spec: { containers: { image: string }[] } } } }) => [
      d.metadata.name,
      d.spec.template.spec.containers[0]!.image,
    ]);
    // Every evshare process; HAProxy has an image of its own.
    const evshare = images.filter(([name]: [string]) => name !== `${release}-haproxy`);
    expect(evshare.length).toBeGreaterThanOrEqual(8);
    for (const [name, image] of evshare) expect(`${name} ${image}`).toMatch(new RegExp(`:${nextTag}$`));
    const pods = JSON.parse(await kubectl('get', 'pods', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json')).items;
    const stale = pods.filter(
      (p: { spec: { containers: { image: string }[] }; metadata: { deletionTimestamp?: string } }) =>
        !p.metadata.deletionTimestamp && p.spec.containers[0]!.image.includes('/evshare:') && !p.spec.containers[0]!.image.endsWith(`:${nextTag}`),
    );
    expect(stale).toEqual([]);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
  }, 900_000);
});
