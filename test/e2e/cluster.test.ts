import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { bearer, eventually, login, request } from '../support/http';
import { startTarget, type E2eTarget } from './target';

/**
 * The cluster side of the e2e suite (a cluster run only: `make e2e-node`, `make e2e`): what an
 * operator sees with kubectl, and `helm upgrade` to a new image rolling every Deployment while
 * members poll, with no failed request.
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
    for (const [name, image] of images) expect(`${name} ${image}`).toMatch(new RegExp(`:${nextTag}$`));
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
