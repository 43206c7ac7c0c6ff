import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane';
import { apiRequest, createNamespace } from './kubeconfig';

describe('control plane harness', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane();
  }, 90_000);

  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the API with the admin token over TLS the kubeconfig trusts', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(await readFile(cp.kubeconfigPath, 'utf8'));
    expect(kc.getCurrentCluster()?.server).toBe(cp.server);
    const version = await apiRequest(cp, 'GET', '/version');
    expect(version.status).toBe(200);
    expect(version.body.gitVersion).toMatch(/^v1\.34\./);
  });

  it('refuses an unknown token', async () => {
    const anonymous = await apiRequest({ ...cp, token: 'not-a-token' }, 'GET', '/api/v1/namespaces');
    expect(anonymous.status).toBe(401);
  });

  it('creates namespaces whose pods are admitted', async () => {
    await createNamespace(cp, 'harness');
    const pod = await apiRequest(cp, 'POST', '/api/v1/namespaces/harness/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'example.invalid/app:1' }] },
    });
    expect(pod.status).toBe(201);
  });

  it('removes its processes and files on stop', async () => {
    const other = await startControlPlane();
    const dir = other.kubeconfigPath.replace(/\/kubeconfig$/, '');
    await other.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(apiRequest(other, 'GET', '/version')).rejects.toThrow();
  }, 90_000);
});
