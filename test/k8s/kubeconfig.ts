/**
 * Kubeconfig and raw API helpers for tests against the control plane of `control-plane.ts`.
 *
 *   kubeconfigYaml({ server, token, caData })       // the kubeconfig text the harness writes
 *   await apiRequest(cp, 'GET', '/api/v1/namespaces')  // { status, body } (body parsed when JSON)
 *   await apiRequest(cp, 'PATCH', path, patch, 'application/merge-patch+json')
 *   await apiRequest(cp, 'GET', path, undefined, undefined, TABLE)  // the columns kubectl get prints
 *   await createNamespace(cp, 'ns1')                 // namespace + its "default" ServiceAccount
 *
 * `apiRequest` never throws on an HTTP error status, so a test can assert a rejection's message
 * (e.g. a custom resource the CRD schema refuses, or a server-side dry run of a chart).
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface KubeconfigInput {
  server: string;
  token: string;
  caData: Buffer;
  /** Context, cluster and user name; default "evshare-test". */
  name?: string;
}

export function kubeconfigYaml({ server, token, caData, name = 'evshare-test' }: KubeconfigInput): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData.toString('base64')}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}

/** Accept header for the server-side table (printer columns) `kubectl get` shows. */
export const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export interface ApiTarget {
  server: string;
  token: string;
  caPath: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- without T the apiserver's JSON stays untyped (as JSON.parse gives it), for tests to walk and assert
export function apiRequest<T = any>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  accept = 'application/json',
): Promise<ApiResponse<T>> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${target.server}${path}`,
      {
        method,
        ca: readFileSync(target.caPath),
        headers: {
          authorization: `Bearer ${target.token}`,
          accept,
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (e.g. /readyz): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Creates a namespace and, since no controller-manager may run to do it, its "default"
 * ServiceAccount (the ServiceAccount admission plugin refuses Pods without it).
 */
export async function createNamespace(target: ApiTarget, name: string): Promise<void> {
  const ns = await apiRequest(target, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (ns.status !== 201) throw new Error(`creating namespace ${name}: ${ns.status} ${JSON.stringify(ns.body)}`);
  const sa = await apiRequest(target, 'POST', `/api/v1/namespaces/${name}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  });
  // 409: the controller-manager's serviceaccount controller was faster.
  if (sa.status !== 201 && sa.status !== 409) throw new Error(`creating the default ServiceAccount in ${name}: ${sa.status} ${JSON.stringify(sa.body)}`);
}
