/**
 * A small HTTPS client for the chart tests' kube-apiserver: server-side apply (optionally as a
 * dry run) of arbitrary objects, found through API discovery, with the response's `Warning`
 * headers (PodSecurity admission reports violations there).
 */
import https from 'node:https';
import type { ControlPlane } from '../k8s/control-plane';
import type { K8sObject } from './helm';

export interface KubeResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the apiserver's JSON, read untyped on purpose (as JSON.parse gives it) by the chart tests
  body: any;
  warnings: string[];
}

export const FIELD_MANAGER = 'evshare-chart-test';

export class Kube {
  private readonly resources = new Map<string, { plural: string; namespaced: boolean }>();

  constructor(
    private readonly cp: Pick<ControlPlane, 'server' | 'token'>,
    private readonly ca: Buffer,
  ) {}

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.cp.server}${path}`,
        {
          method,
          ca: this.ca,
          timeout: 15_000,
          headers: {
            authorization: `Bearer ${this.cp.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const warning = res.headers.warning;
            resolve({
              status: res.statusCode ?? 0,
              body: text ? JSON.parse(text) : undefined,
              warnings: warning === undefined ? [] : Array.isArray(warning) ? warning : [warning],
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The REST path of an object, from discovery (so the chart may use any kind the server serves). */
  async pathOf(object: K8sObject, namespace: string): Promise<string> {
    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const key = `${object.apiVersion}/${object.kind}`;
    if (!this.resources.has(key)) {
      const discovery = await this.request('GET', base);
      if (discovery.status !== 200) throw new Error(`discovery of ${base}: HTTP ${discovery.status}`);
      for (const r of discovery.body.resources as Array<{ name: string; kind: string; namespaced: boolean }>) {
        if (!r.name.includes('/')) this.resources.set(`${object.apiVersion}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
      }
    }
    const resource = this.resources.get(key);
    if (!resource) throw new Error(`the server does not serve ${key}`);
    const scope = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? namespace}` : '';
    return `${base}${scope}/${resource.plural}/${object.metadata.name}`;
  }

  /** Server-side apply; `dryRun` runs admission and validation without storing anything. */
  async apply(object: K8sObject, namespace: string, options: { dryRun?: boolean } = {}): Promise<KubeResponse> {
    const query = `fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict${options.dryRun ? '&dryRun=All' : ''}`;
    // JSON is YAML, so an apply patch may be sent as JSON.
    return this.request('PATCH', `${await this.pathOf(object, namespace)}?${query}`, object, 'application/apply-patch+yaml');
  }

  /** Polls `check` every 100 ms until it is true or `timeoutMs` passes. */
  static async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what}: not within ${timeoutMs} ms`);
  }
}
