import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * A small JSON client for the Kubernetes API on top of client-node's KubeConfig (which resolves
 * kubeconfig files, in-cluster service-account tokens, exec plugins and client certificates).
 * The operator needs a handful of verbs with exact content types (server-side apply, merge
 * patches on subresources) and full control over watches (the Status object of a 410, server
 * closes, aborts), which is simpler to get right here than through the generated API classes.
 */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (error: unknown) => error instanceof KubeApiError && error.status === 404;
export const isConflict = (error: unknown) => error instanceof KubeApiError && error.status === 409;
/** 410 Gone: the resourceVersion a watch or a list continuation asked for was compacted away. */
export const isGone = (error: unknown) => error instanceof KubeApiError && (error.status === 410 || error.reason === 'Expired');

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Default application/json; patches need their own (see PATCH_TYPES). */
  contentType?: string;
  /** The whole request, connection and TLS handshake included (not an idle timeout). */
  timeoutMs?: number;
}

export const PATCH_TYPES = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  /** Ends the watch; its onClose is not called afterwards. */
  close(): void;
}

export interface KubeClient {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /**
   * Streams watch events until the server ends the stream (onClose(null)), the request fails
   * (onClose(error); an HTTP error carries its Status as a KubeApiError) or close() is called.
   */
  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void, onClose: (error: Error | null) => void): WatchHandle;
}

export function createKubeClient(kc: KubeConfig, defaultTimeoutMs = 30_000): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const transport = base.protocol === 'http:' ? http : https;
  let agent: http.Agent | undefined;

  /** Auth headers are fetched per request (tokens rotate); the TLS agent is kept for keep-alive. */
  async function requestOptions(method: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const options: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(options);
    agent ??=
      transport === https
        ? new https.Agent({
            keepAlive: true,
            ca: options.ca,
            cert: options.cert,
            key: options.key,
            servername: options.servername,
            ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
          })
        : new http.Agent({ keepAlive: true });
    return { method, agent, auth: options.auth, headers: { ...(options.headers as Record<string, string>), accept: 'application/json', ...headers } };
  }

  function url(path: string, query: Query = {}): URL {
    const target = new URL(base.pathname.replace(/\/$/, '') + path, base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) target.searchParams.set(key, String(value));
    return target;
  }

  return {
    async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const headers: Record<string, string> =
        payload === undefined ? {} : { 'content-type': options.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
      const init = await requestOptions(method, headers);
      const target = url(path, options.query);
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      return new Promise<T>((resolve, rejectOnce) => {
        // A connection that silently drops packets never errors: only a deadline ends the request.
        const deadline = setTimeout(() => req.destroy(new Error(`${method} ${target.pathname}: no answer within ${timeoutMs} ms`)), timeoutMs);
        const reject = (error: Error) => {
          clearTimeout(deadline);
          rejectOnce(error);
        };
        const req = transport.request(target, init, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(deadline);
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) return reject(errorFrom(status, text, `${method} ${target.pathname}`));
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (error) {
              // JSON.parse throws a SyntaxError.
              reject(error as Error);
            }
          });
        });
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },

    watch(path, query, onEvent, onClose) {
      let closed = false;
      let req: http.ClientRequest | undefined;
      const finish = (error: Error | null) => {
        if (closed) return;
        closed = true;
        req?.destroy();
        onClose(error);
      };
      requestOptions('GET', {}).then(
        (init) => {
          if (closed) return;
          const target = url(path, { ...query, watch: 1 });
          req = transport.request(target, init, (res) => {
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => finish(errorFrom(status, Buffer.concat(chunks).toString('utf8'), `watch ${target.pathname}`)));
              res.on('error', finish);
              return;
            }
            // A half-open connection would otherwise look like a quiet watch forever.
            res.socket.setKeepAlive(true, 15_000);
            const lines = readline.createInterface({ input: res, crlfDelay: Infinity });
            // readline re-emits the stream's errors (e.g. "aborted" when the connection drops).
            lines.on('error', finish);
            lines.on('line', (line) => {
              if (closed || !line) return;
              let event: { type: WatchEventType; object: unknown };
              try {
                event = JSON.parse(line) as typeof event;
              } catch {
                return finish(new Error(`watch ${target.pathname}: unreadable event`));
              }
              onEvent(event.type, event.object);
            });
            res.on('error', finish);
            res.on('close', () => finish(res.complete ? null : new Error(`watch ${target.pathname}: connection lost`)));
          });
          req.on('error', finish);
          req.end();
        },
        (error: Error) => finish(error),
      );
      return {
        close() {
          closed = true;
          req?.destroy();
        },
      };
    },
  };
}

function errorFrom(status: number, text: string, what: string): KubeApiError {
  try {
    const body = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(status, body.reason ?? '', `${what}: ${body.message ?? text}`);
  } catch {
    return new KubeApiError(status, '', `${what}: HTTP ${status} ${text.slice(0, 200)}`);
  }
}
