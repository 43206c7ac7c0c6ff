/**
 * Jest global setup of `make e2e-node`: the chart installed on the real one-node cluster
 * (install.ts), shared by every e2e test file, which reach it as a cluster target through the
 * EVSHARE_E2E_* variables (test/e2e/target.ts), as they reach kind in `make e2e`.
 */
import { toolsBinDir } from '../../k8s/control-plane';
import path from 'node:path';
import { installOnNode, MAX_APP_REPLICAS, NAMESPACE, RELEASE, type NodeRelease } from './install';

declare global {
  // The release, for the global teardown (same process).
  var evshareNodeRelease: NodeRelease | undefined;
}

export default async function setup(): Promise<void> {
  const started = Date.now();
  const release = await installOnNode();
  globalThis.evshareNodeRelease = release;
  // A second name for the same image: `helm upgrade` to it rolls every Deployment.
  const next = `${release.images.refs.app}-next`;
  await release.node.tagImage(release.images.refs.app, next);
  Object.assign(process.env, {
    EVSHARE_E2E_URL: release.url,
    EVSHARE_E2E_KUBECONFIG: release.node.kubeconfigPath,
    EVSHARE_E2E_NAMESPACE: NAMESPACE,
    EVSHARE_E2E_RELEASE: RELEASE,
    EVSHARE_E2E_ADMIN_PASSWORD: release.adminPassword,
    EVSHARE_E2E_MAX_APP_REPLICAS: String(MAX_APP_REPLICAS),
    EVSHARE_E2E_HELM: path.join(toolsBinDir(), 'helm'),
    EVSHARE_E2E_KUBECTL: path.join(toolsBinDir(), 'kubectl'),
    EVSHARE_E2E_NEXT_IMAGE_TAG: next.slice(next.lastIndexOf(':') + 1),
  });
  console.log(`\ne2e-node: the chart runs on the one-node cluster (${Math.round((Date.now() - started) / 1000)} s); entry point ${release.url}`);
}
