/**
 * A real one-node Kubernetes cluster for tests: the control plane of `control-plane.ts` plus a
 * node that runs real containers: its own containerd (own config, state and socket; the
 * machine's containerd, if any, is left alone) with runc, Debian's CNI bridge plugin, a kubelet,
 * kube-proxy in iptables mode and CoreDNS (a process on the node, behind the usual kube-dns
 * Service at 10.96.0.10).
 *
 *   const node = await startNode({ images: [archive, ...] });   // OCI archives of test/k8s/images.sh
 *   node.kubeconfigPath, node.server, node.token, node.caPath    // as ControlPlane
 *   node.name                                                    // "evshare-node"
 *   node.ip                                                      // 10.244.0.1, the bridge's gateway
 *   await node.kubectl(['get', 'pods', '-A'])                    // stdout; throws with stderr
 *   await node.importImages([archive])                           // ctr -n k8s.io images import
 *   await node.tagImage(ref, otherRef)                           // a second name for an image
 *   await node.podLogs(namespace, pod)                           // every container's log file
 *   await node.stop()
 *
 * Pods get addresses in 10.244.0.0/24 on the bridge `evshare0`; the node's address is the
 * bridge's gateway (a kubelet refuses a loopback node IP), and the apiserver listens there too so
 * pods reach it through the `kubernetes` Service. Needs root, and only one such node runs on a
 * machine at a time (kube-proxy owns the KUBE-* iptables chains): a second start waits for the
 * first to stop. Images stay in containerd's content store under
 * $EVSHARE_TOOLS_DIR/node/containerd between runs, so an unchanged image is not imported again.
 * `stop()` removes every pod through the CRI (network teardown included), kube-proxy's rules, the
 * bridge and the temporary directory.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts, launch, startControlPlane, stopComponent, toolsBinDir, waitFor, waitForValue, type Component, type ControlPlane } from './control-plane';
import { apiRequest, kubeconfigYaml, type ApiTarget } from './kubeconfig';

const run = promisify(execFile);

export const NODE_NAME = 'evshare-node';
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/24';
export const CLUSTER_DNS = '10.96.0.10';
const BRIDGE = 'evshare0';
const LOCK = '/run/evshare-node.lock';

export interface NodeOptions {
  /** OCI archives to import into the node's containerd before it is returned. */
  images?: string[];
  readyTimeoutMs?: number;
  /** How long to wait for another test's node on this machine to stop (default 20 min). */
  lockTimeoutMs?: number;
}

export interface NodeCluster extends ApiTarget {
  kubeconfigPath: string;
  name: string;
  ip: string;
  dir: string;
  controlPlane: ControlPlane;
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  importImages(archives: string[]): Promise<void>;
  tagImage(source: string, target: string): Promise<void>;
  podLogs(namespace: string, pod: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startNode(options: NodeOptions = {}): Promise<NodeCluster> {
  const bin = toolsBinDir();
  const missing = ['kubelet', 'kube-proxy', 'kubectl', 'coredns', 'crictl'].filter((name) => !existsSync(path.join(bin, name)));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} in ${bin}: run \`bash test/k8s/tools.sh\` first`);
  for (const tool of ['/usr/bin/containerd', '/usr/sbin/runc', '/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/loopback']) {
    if (!existsSync(tool)) throw new Error(`missing ${tool}: install containerd, runc and containernetworking-plugins (.ci/run does)`);
  }
  if (process.getuid?.() !== 0) throw new Error('a real node needs root (network namespaces, iptables, mounts)');
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;

  await acquireLock(options.lockTimeoutMs ?? 20 * 60_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evshare-node-'));
  const procs: Component[] = [];
  let controlPlane: ControlPlane | undefined;
  const killAllNow = () => procs.forEach((p) => p.child.kill('SIGKILL'));
  process.on('exit', killAllNow);
  const sock = path.join(dir, 'containerd.sock');
  const ctr = (...args: string[]) => run('ctr', ['--address', sock, '--namespace', 'k8s.io', ...args], { maxBuffer: 64 << 20 });
  const crictl = (...args: string[]) =>
    run(path.join(bin, 'crictl'), [`--runtime-endpoint=unix://${sock}`, `--image-endpoint=unix://${sock}`, '--timeout=30s', ...args], { maxBuffer: 64 << 20 });

  const stop = async () => {
    const stopProc = async (name: string) => {
      const proc = procs.find((p) => p.name === name);
      if (proc) await stopComponent(proc, 10_000);
    };
    await stopProc('coredns');
    await stopProc('kube-proxy');
    await run(path.join(bin, 'kube-proxy'), ['--cleanup']).catch(() => undefined);
    await stopProc('kubelet');
    await removeKubeletChains();
    // Through the CRI, so the CNI plugin tears every pod's network down (veth, IP, masquerade rule).
    if (procs.some((p) => p.name === 'containerd' && p.child.exitCode === null)) {
      await crictl('rmp', '--all', '--force').catch(() => undefined);
    }
    await stopProc('containerd');
    await controlPlane?.stop();
    await unmountUnder(dir);
    await run('ip', ['link', 'delete', BRIDGE]).catch(() => undefined);
    process.off('exit', killAllNow);
    await rm(dir, { recursive: true, force: true });
    await releaseLock();
  };

  try {
    // A previous run that died mid-way may have left its rules and bridge behind.
    await run(path.join(bin, 'kube-proxy'), ['--cleanup']).catch(() => undefined);
    await removeKubeletChains();
    await run('ip', ['link', 'delete', BRIDGE]).catch(() => undefined);
    // The bridge exists before the first pod (the CNI plugin would make it then), so the
    // apiserver can listen on the node's address from the start.
    await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', BRIDGE]);
    await run('ip', ['link', 'set', BRIDGE, 'up']);

    const pki = path.join(dir, 'pki');
    await mkdir(pki, { recursive: true });
    const kubeletClient = await kubeletClientCertificate(pki);
    const tokens = { node: randomBytes(24).toString('hex'), proxy: randomBytes(24).toString('hex'), dns: randomBytes(24).toString('hex') };
    controlPlane = await startControlPlane({
      bindAddress: NODE_IP,
      controllerManager: true,
      // nodeipam would hand out pod CIDRs; this node has its own.
      controllers: '*,-nodeipam',
      scheduler: true,
      tokens: [
        { token: tokens.node, user: `system:node:${NODE_NAME}`, groups: ['system:nodes'] },
        { token: tokens.proxy, user: 'system:kube-proxy' },
        { token: tokens.dns, user: 'system:evshare-coredns' },
      ],
      // The node's name resolves nowhere: the apiserver reaches the kubelet (logs, exec) at its address.
      apiserverArgs: [
        `--kubelet-client-certificate=${kubeletClient.cert}`,
        `--kubelet-client-key=${kubeletClient.key}`,
        '--kubelet-preferred-address-types=InternalIP',
      ],
      readyTimeoutMs,
    });
    const cp = controlPlane;
    const caData = await readFile(cp.caPath);
    const kubeconfigFor = async (name: string, token: string) => {
      const file = path.join(dir, `${name}.kubeconfig`);
      await writeFile(file, kubeconfigYaml({ server: cp.server, token, caData }), { mode: 0o600 });
      return file;
    };

    // containerd: images persist between runs; state, socket and CNI configuration are this run's.
    const containerdRoot = path.join(path.dirname(bin), 'node', 'containerd');
    await mkdir(containerdRoot, { recursive: true });
    await mkdir(path.join(dir, 'cni'), { recursive: true });
    await writeFile(
      path.join(dir, 'cni', '10-evshare.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'evshare',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: true,
            // A pod reaching itself through a Service comes back in on its own port.
            hairpinMode: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(dir, 'ipam') },
          },
        ],
      }),
    );
    const containerdConfig = path.join(dir, 'containerd.toml');
    await writeFile(containerdConfig, containerdToml(containerdRoot, dir, sock));
    procs.push(launch(dir, 'containerd', '/usr/bin/containerd', ['--config', containerdConfig]));
    await waitFor(procs.at(-1)!, readyTimeoutMs, async () => (await crictl('info')).stdout.includes('"RuntimeReady"'));
    await importArchives(ctr, options.images ?? []);

    // kubelet, with the settings these VMs need (PLATFORM-NOTES.md).
    const [kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics, dnsHealth, dnsReady] = await freePorts(6);
    const resolvConf = path.join(dir, 'resolv.conf');
    await writeFile(resolvConf, '');
    const kubeletConfig = path.join(dir, 'kubelet.yaml');
    await writeFile(
      kubeletConfig,
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        // cgroup v1 (hybrid) and no CAP_SYS_RESOURCE on these VMs.
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        cgroupsPerQOS: false,
        enforceNodeAllocatable: [],
        localStorageCapacityIsolation: false,
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${sock}`,
        podCIDR: POD_CIDR,
        address: NODE_IP,
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: kubeletHealthz,
        // Only the apiserver (its client certificate) may use the kubelet's API; pods may not.
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: kubeletClient.ca } },
        authorization: { mode: 'Webhook' },
        clusterDNS: [CLUSTER_DNS],
        clusterDomain: 'cluster.local',
        resolvConf,
        podLogsDir: path.join(dir, 'pods'),
        serializeImagePulls: false,
        // The test images are imported, never pulled: a collection would lose them.
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        evictionHard: { 'memory.available': '100Mi' },
        // Short sync periods: configmap and secret updates, and status, reach pods quickly.
        syncFrequency: '10s',
        nodeStatusUpdateFrequency: '5s',
      }),
    );
    procs.push(
      launch(dir, 'kubelet', path.join(bin, 'kubelet'), [
        `--config=${kubeletConfig}`,
        `--kubeconfig=${await kubeconfigFor('kubelet', tokens.node)}`,
        `--root-dir=${path.join(dir, 'kubelet')}`,
        `--cert-dir=${path.join(dir, 'kubelet-pki')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ]),
    );

    procs.push(
      launch(dir, 'kube-proxy', path.join(bin, 'kube-proxy'), [
        `--kubeconfig=${await kubeconfigFor('kube-proxy', tokens.proxy)}`,
        `--hostname-override=${NODE_NAME}`,
        '--proxy-mode=iptables',
        `--cluster-cidr=${POD_CIDR}`,
        // NodePorts on the node's address only, never on the machine's other interfaces, and
        // not on 127.0.0.1 (that would need route_localnet, a machine-wide setting).
        `--nodeport-addresses=${POD_CIDR}`,
        '--iptables-localhost-nodeports=false',
        `--healthz-bind-address=127.0.0.1:${proxyHealthz}`,
        `--metrics-bind-address=127.0.0.1:${proxyMetrics}`,
        // The conntrack table's size is the machine's; leave it.
        '--conntrack-max-per-core=0',
        '--v=1',
      ]),
    );

    await waitFor(
      procs.find((p) => p.name === 'kubelet')!,
      readyTimeoutMs,
      async () => (await apiRequest(cp, 'GET', `/api/v1/nodes/${NODE_NAME}`)).status === 200,
    );
    // The pod CIDR is the node's own (no nodeipam controller hands one out); set once, as a
    // cluster installer does.
    const cidr = await apiRequest(
      cp,
      'PATCH',
      `/api/v1/nodes/${NODE_NAME}`,
      { spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } },
      'application/strategic-merge-patch+json',
    );
    if (cidr.status !== 200) throw new Error(`setting the node's pod CIDR: ${cidr.status} ${JSON.stringify(cidr.body)}`);
    await waitFor(
      procs.find((p) => p.name === 'kubelet')!,
      readyTimeoutMs,
      async () => {
        const node = await apiRequest(cp, 'GET', `/api/v1/nodes/${NODE_NAME}`);
        return (node.body.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
      },
    );
    await waitFor(
      procs.find((p) => p.name === 'kube-proxy')!,
      readyTimeoutMs,
      async () => (await fetch(`http://127.0.0.1:${proxyHealthz}/healthz`)).ok,
    );

    // CoreDNS on the node's address, with its own read-only identity, behind kube-dns.
    await apply(cp, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'evshare:coredns' },
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    });
    await apply(cp, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'evshare:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'evshare:coredns' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:evshare-coredns' }],
    });
    const corefile = path.join(dir, 'Corefile');
    await writeFile(
      corefile,
      [
        '.:53 {',
        `  bind ${NODE_IP}`,
        '  errors',
        `  health 127.0.0.1:${dnsHealth}`,
        `  ready 127.0.0.1:${dnsReady}`,
        '  kubernetes cluster.local in-addr.arpa ip6.arpa {',
        `    kubeconfig ${await kubeconfigFor('coredns', tokens.dns)} evshare-test`,
        '    pods insecure',
        '    fallthrough in-addr.arpa ip6.arpa',
        '  }',
        '  cache 5',
        '}',
        '',
      ].join('\n'),
    );
    procs.push(launch(dir, 'coredns', path.join(bin, 'coredns'), ['-conf', corefile]));
    await apply(cp, '/api/v1/namespaces/kube-system/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: CLUSTER_DNS,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    });
    await apply(cp, '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-node',
        namespace: 'kube-system',
        labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'evshare-test' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NODE_IP], conditions: { ready: true }, nodeName: NODE_NAME }],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    });
    await waitFor(procs.at(-1)!, readyTimeoutMs, async () => (await fetch(`http://127.0.0.1:${dnsReady}/ready`)).ok);

    const kubeconfigPath = cp.kubeconfigPath;
    return {
      kubeconfigPath,
      server: cp.server,
      token: cp.token,
      caPath: cp.caPath,
      name: NODE_NAME,
      ip: NODE_IP,
      dir,
      controlPlane: cp,
      async kubectl(args, opts = {}) {
        return new Promise<string>((resolve, reject) => {
          const child = execFile(
            path.join(bin, 'kubectl'),
            [`--kubeconfig=${kubeconfigPath}`, ...args],
            { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 },
            (error, stdout, stderr) => (error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout)),
          );
          if (opts.input !== undefined) child.stdin!.end(opts.input);
        });
      },
      importImages: (archives) => importArchives(ctr, archives),
      async tagImage(source, target) {
        await ctr('images', 'tag', '--force', source, target);
      },
      async podLogs(namespace, pod) {
        const root = path.join(dir, 'pods');
        const podDirs = (await readdir(root).catch(() => [] as string[])).filter((d) => d.startsWith(`${namespace}_${pod}_`));
        const parts: string[] = [];
        for (const podDir of podDirs) {
          for (const container of await readdir(path.join(root, podDir))) {
            for (const file of (await readdir(path.join(root, podDir, container))).sort()) {
              parts.push(`--- ${container}/${file}\n${await readFile(path.join(root, podDir, container, file), 'utf8')}`);
            }
          }
        }
        return parts.join('\n');
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

function containerdToml(root: string, dir: string, sock: string): string {
  return `version = 2
root = ${JSON.stringify(root)}
state = ${JSON.stringify(path.join(dir, 'containerd-state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${JSON.stringify(sock)}

[ttrpc]
  address = ${JSON.stringify(`${sock}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${JSON.stringify(path.join(dir, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Without CAP_SYS_RESOURCE the pause container's oom_score_adj of -998 cannot be set.
  restrict_oom_score_adj = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(path.join(dir, 'cni'))}
    max_conf_num = 1
`;
}

/** Imports OCI archives into the CRI's namespace (content containerd already has is not copied again). */
async function importArchives(ctr: (...args: string[]) => Promise<{ stdout: string }>, archives: string[]): Promise<void> {
  for (const archive of archives) {
    await ctr('images', 'import', archive).catch((error: Error) => {
      throw new Error(`importing ${archive}: ${error.message}`);
    });
  }
}

/**
 * A CA the kubelet trusts for client certificates, and the apiserver's client certificate
 * signed by it (group system:masters, so the kubelet's webhook authorization allows logs, exec
 * and port-forward through the apiserver).
 */
async function kubeletClientCertificate(pki: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = path.join(pki, 'kubelet-client-ca.crt');
  const caKey = path.join(pki, 'kubelet-client-ca.key');
  const key = path.join(pki, 'apiserver-kubelet-client.key');
  const csr = path.join(pki, 'apiserver-kubelet-client.csr');
  const cert = path.join(pki, 'apiserver-kubelet-client.crt');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=evshare-kubelet-client-ca']);
  await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/O=system:masters/CN=evshare-apiserver']);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2']);
  return { ca, cert, key };
}

/** Creates an object, or leaves it when it exists (a Service the controller-manager may race). */
async function apply(target: ApiTarget, collection: string, object: object): Promise<void> {
  const created = await apiRequest(target, 'POST', collection, object);
  if (created.status !== 201 && created.status !== 409) throw new Error(`creating ${collection}: ${created.status} ${JSON.stringify(created.body)}`);
}

/**
 * The kubelet's own iptables chains (KUBE-FIREWALL against outside connections to 127.0.0.0/8,
 * and the canaries it watches for a flushed table), which `kube-proxy --cleanup` leaves.
 */
async function removeKubeletChains(): Promise<void> {
  for (const iptables of ['iptables', 'ip6tables']) {
    const quiet = (...args: string[]) => run(iptables, ['-w', '5', ...args]).catch(() => undefined);
    for (const chain of ['INPUT', 'OUTPUT']) await quiet('-t', 'filter', '-D', chain, '-j', 'KUBE-FIREWALL');
    await quiet('-t', 'filter', '-F', 'KUBE-FIREWALL');
    await quiet('-t', 'filter', '-X', 'KUBE-FIREWALL');
    for (const table of ['filter', 'nat', 'mangle']) await quiet('-t', table, '-X', 'KUBE-KUBELET-CANARY');
    await quiet('-t', 'mangle', '-X', 'KUBE-IPTABLES-HINT');
  }
}

/** Unmounts whatever the kubelet and containerd left mounted under `dir` (deepest first). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mount): mount is string => mount !== undefined && (mount === dir || mount.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) await run('umount', ['-l', mount]).catch(() => undefined);
}

/** One node per machine: kube-proxy and the bridge are machine-wide. A lock whose owner died is taken over. */
async function acquireLock(timeoutMs: number): Promise<void> {
  await waitForValue(
    'another test run on this machine to stop its one-node cluster',
    timeoutMs,
    async () => {
      try {
        await mkdir(LOCK);
      } catch {
        const owner = Number(await readFile(path.join(LOCK, 'pid'), 'utf8').catch(() => '0'));
        if (owner > 0 && alive(owner)) return false;
        await rm(LOCK, { recursive: true, force: true });
        await mkdir(LOCK);
      }
      await writeFile(path.join(LOCK, 'pid'), String(process.pid));
      return true;
    },
    1_000,
  );
}

async function releaseLock(): Promise<void> {
  const owner = Number(await readFile(path.join(LOCK, 'pid'), 'utf8').catch(() => '0'));
  if (owner === process.pid) await rm(LOCK, { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
