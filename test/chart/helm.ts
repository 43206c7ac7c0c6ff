/**
 * Helpers for the chart tests: run helm from the tools cache, render the chart with given values,
 * and parse the manifests.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
// Plain objects, not client-node's loadAllYaml (which turns them into model classes, `from` -> `_from`).
import { loadAll } from 'js-yaml';
import { toolsBinDir } from '../k8s/control-plane';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '..', '..');
export const CHART = path.join(REPO, 'charts', 'evshare');
/**
 * The Kubernetes version the chart is rendered for. A helm built with `go install` (as
 * test/k8s/tools.sh does) has no version stamped in and would assume v1.20, below the chart's
 * kubeVersion; the control plane the tests start is this version.
 */
export const KUBE_VERSION = process.env.K8S_VERSION ?? 'v1.34.4';

export function helmPath(): string {
  const helm = path.join(toolsBinDir(), 'helm');
  if (!existsSync(helm)) throw new Error(`missing ${helm}: run \`bash test/k8s/tools.sh\` first`);
  return helm;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<HelmResult> {
  try {
    return await run(helmPath(), args, { cwd: REPO, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Writes `values` (JSON is valid YAML) to a temporary file for `-f`, runs `use`, removes it. */
async function withValuesFile<T>(values: object, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evshare-values-'));
  try {
    const file = path.join(dir, 'values.json');
    await writeFile(file, JSON.stringify(values));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function lint(values: object): Promise<HelmResult> {
  return withValuesFile(values, (file) => helm(['lint', CHART, '--strict', '--kube-version', KUBE_VERSION, '-f', file]));
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- helm's YAML, read untyped on purpose: the chart tests walk any kind's spec and assert it
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** `helm template` the chart into parsed objects (empty documents dropped). */
export async function render(values: object, options: { release?: string; namespace?: string } = {}): Promise<K8sObject[]> {
  const { stdout } = await renderText(values, options);
  return (loadAll(stdout) as Array<K8sObject | null>).filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

export function renderText(values: object, options: { release?: string; namespace?: string } = {}): Promise<HelmResult> {
  return withValuesFile(values, (file) =>
    helm(['template', options.release ?? 'evs', CHART, '--namespace', options.namespace ?? 'evshare', '--kube-version', KUBE_VERSION, '-f', file]),
  );
}

/** Values for production mode with every external backend given (as Secret references). */
export const PRODUCTION_VALUES = {
  mode: 'production',
  external: {
    nats: { url: 'nats://nats.nats.svc:4222' },
    redis: { url: 'redis://redis-master.redis.svc:6379', passwordSecret: { name: 'redis', key: 'redis-password' } },
    postgres: { urlSecret: { name: 'evshare-db-app', key: 'uri' } },
  },
};

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** The pod specs of every workload object, with a label for messages. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a pod spec out of helm's YAML, untyped like K8sObject.spec
export function podSpecs(objects: K8sObject[]): Array<{ owner: string; spec: any }> {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))
    .map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}
