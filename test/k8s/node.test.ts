import { testImages, type TestImages } from './images';
import { NODE_IP, POD_CIDR, startNode, type NodeCluster } from './node';
import { apiRequest } from './kubeconfig';
import { waitForValue } from './control-plane';
import { request } from '../support/http';

/**
 * The one-node cluster of node.ts, as the chart's e2e run needs it: the node registers Ready,
 * pods run as real containers with their probes, get addresses on the node's bridge, a ClusterIP
 * Service balances over them from the host and from another pod, and Service names resolve in
 * pods through kube-dns.
 */
describe('a real one-node cluster', () => {
  let node: NodeCluster;
  let images: TestImages;
  const ns = 'node-test';

  beforeAll(async () => {
    images = await testImages();
    node = await startNode({ images: [images.archives.pause, images.archives.node] });
    await node.kubectl(['create', 'namespace', ns]);
  }, 30 * 60_000);
  afterAll(() => node?.stop(), 120_000);

  it('registers the node Ready on containerd, at the bridge address', async () => {
    const { body } = await apiRequest(node, 'GET', `/api/v1/nodes/${node.name}`);
    expect(body.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(body.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(body.status.addresses).toContainEqual({ type: 'InternalIP', address: NODE_IP });
    expect(body.spec.podCIDR).toBe(POD_CIDR);
  });

  it('serves a ClusterIP Service from real pods to the host and to another pod, by DNS name', async () => {
    // Two replicas of a tiny HTTP server that answers with its pod name, non-root on a read-only root.
    const server = "require('http').createServer((q, s) => s.end(require('os').hostname())).listen(8080)";
    const security = { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
    await node.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: ns },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: {
                  automountServiceAccountToken: false,
                  containers: [
                    {
                      name: 'web',
                      image: images.refs.node,
                      imagePullPolicy: 'Never',
                      command: ['node', '-e', server],
                      ports: [{ containerPort: 8080 }],
                      readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
                      securityContext: security,
                    },
                  ],
                },
              },
            },
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace: ns },
            spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
          },
        ],
      }),
    });
    await node.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=180s'], { timeoutMs: 200_000 });

    const pods = JSON.parse(await node.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) expect(isInSubnet(pod.status.podIP, POD_CIDR)).toBe(true);
    const names = new Set<string>(pods.map((p: { metadata: { name: string } }) => p.metadata.name));

    // From the host: kube-proxy's rules take the ClusterIP to both pods (a new connection each
    // time: the balancing is per connection).
    const { body: service } = await apiRequest(node, 'GET', `/api/v1/namespaces/${ns}/services/web`);
    const fromHost = await waitForValue('the ClusterIP to reach both pods from the host', 30_000, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add((await request(`http://${service.spec.clusterIP}/`, { timeoutMs: 2_000 })).body);
      return seen.size === 2 && seen;
    });
    expect(fromHost).toEqual(names);

    // From a pod: the short name resolves through kube-dns to the ClusterIP, which answers.
    const client = [
      "const dns = require('dns');",
      "const http = require('http');",
      "const get = () => new Promise((resolve, reject) => http.get('http://web/', { agent: false }, (r) => { let body = ''; r.on('data', (d) => (body += d)); r.on('end', () => resolve(body)); }).on('error', reject));",
      `dns.lookup('web.${ns}.svc.cluster.local', async (error, address) => {`,
      '  const seen = new Set();',
      '  for (let i = 0; i < 30; i++) seen.add(await get());',
      '  console.log(JSON.stringify({ error: error && error.message, address, seen: [...seen].sort() }));',
      '});',
    ].join('\n');
    await node.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'client', namespace: ns },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [{ name: 'client', image: images.refs.node, imagePullPolicy: 'Never', command: ['node', '-e', client], securityContext: security }],
        },
      }),
    });
    await waitForValue(
      'the client pod to finish',
      120_000,
      async () => {
        const phase = (await node.kubectl(['-n', ns, 'get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])).trim();
        if (phase === 'Failed') throw new Error(`client pod failed: ${await node.podLogs(ns, 'client')}`);
        return phase === 'Succeeded';
      },
      500,
    );
    // kubectl logs goes through the apiserver to the kubelet (its client certificate).
    const report = JSON.parse(await node.kubectl(['-n', ns, 'logs', 'client']));
    expect(report).toEqual({ error: null, address: service.spec.clusterIP, seen: [...names].sort() });
  }, 300_000);
});

function isInSubnet(address: string, cidr: string): boolean {
  const toInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(address) / size) === Math.floor(toInt(base!) / size);
}
