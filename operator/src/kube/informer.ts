import type { Logger } from '@evshare/kit';
import { isGone, isNotFound, KubeApiError, type KubeClient, type WatchHandle } from './client';
import { objectKey, resourcePath, type KubeObject, type Resource } from './resources';

/**
 * A list+watch cache of one resource, like client-go's reflector + informer:
 * - lists (paginated) and remembers the list's resourceVersion, then watches from it with
 *   bookmarks, moving the resourceVersion forward with every event;
 * - when the watch ends normally (the server's timeoutSeconds) it watches again from there;
 * - on 410 Gone (that resourceVersion was compacted away) it lists again and turns the
 *   difference into added/updated/deleted events, so handlers never miss a deletion;
 * - on any other error it retries with exponential backoff and jitter, from the last
 *   resourceVersion; a watch that stays silent past its timeout is treated as lost.
 */
export type InformerEvent<T> = { type: 'added' | 'updated' | 'deleted'; object: T; previous?: T };

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: Resource;
  /** Undefined: all namespaces. */
  namespace?: string;
  labelSelector?: string;
  onEvent?: (event: InformerEvent<T>) => void;
  log: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Server-side watch timeout; default a random 300-600 s so many watches do not restart together. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  /**
   * A resource the cluster may not serve (a CRD of another project, e.g. KEDA's): a 404 on the
   * list counts as an empty, synced cache, and the list is tried again every backoff maximum
   * until the resource appears.
   */
  optional?: boolean;
}

export interface InformerStats {
  lists: number;
  watches: number;
  relistsAfterGone: number;
  errors: number;
}

export interface Informer<T> {
  start(): void;
  /** Resolves once the first list is in the cache. */
  waitForSync(timeoutMs: number): Promise<void>;
  stop(): void;
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  readonly synced: boolean;
  readonly stats: Readonly<InformerStats>;
}

interface ListResponse<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export function createInformer<T extends KubeObject>(options: InformerOptions<T>): Informer<T> {
  const { client, resource, namespace, labelSelector, log } = options;
  const path = resourcePath(resource, namespace);
  const initialMs = options.backoff?.initialMs ?? 200;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const what = `${resource.plural}${namespace ? ` in ${namespace}` : ''}`;
  const cache = new Map<string, T>();
  const stats: InformerStats = { lists: 0, watches: 0, relistsAfterGone: 0, errors: 0 };
  let resourceVersion = '';
  let synced = false;
  let stopped = false;
  let running = false;
  let lastError: unknown;
  let closeWatch: (() => void) | undefined;
  let wake: (() => void) | undefined;
  const syncWaiters: Array<() => void> = [];

  const emit = (event: InformerEvent<T>) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      log.error({ err: error, resource: what }, 'informer event handler failed');
    }
  };

  async function relist(): Promise<void> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let version = '';
    do {
      const page = await client.request<ListResponse<T>>('GET', path, { query: { labelSelector, limit: options.pageSize ?? 500, continue: continueToken } });
      items.push(...page.items);
      version = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    stats.lists++;
    const fresh = new Map(items.map((item) => [objectKey(item), item]));
    for (const [key, previous] of cache) {
      if (!fresh.has(key)) {
        cache.delete(key);
        emit({ type: 'deleted', object: previous });
      }
    }
    for (const [key, item] of fresh) {
      const previous = cache.get(key);
      cache.set(key, item);
      if (!previous) emit({ type: 'added', object: item });
      else if (previous.metadata.resourceVersion !== item.metadata.resourceVersion) emit({ type: 'updated', object: item, previous });
    }
    resourceVersion = version;
    markSynced();
  }

  function markSynced(): void {
    if (synced) return;
    synced = true;
    syncWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** The resource is not served: nothing of it exists (any cached object went with its CRD). */
  function absent(): void {
    for (const [key, previous] of cache) {
      cache.delete(key);
      emit({ type: 'deleted', object: previous });
    }
    markSynced();
  }

  /** Resolves with the number of events seen when the server ends the watch; rejects on errors. */
  function watchOnce(): Promise<number> {
    const timeoutSeconds = options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    stats.watches++;
    return new Promise<number>((resolve, reject) => {
      let events = 0;
      let settled = false;
      // Not const: settle() reads it and may run before client.watch() has returned it.
      let handle: WatchHandle | undefined = undefined;
      const settle = (error: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        closeWatch = undefined;
        handle?.close();
        if (error) reject(error);
        else resolve(events);
      };
      const silence = setTimeout(() => settle(new Error(`watch of ${what} outlived its ${timeoutSeconds} s timeout`)), (timeoutSeconds + 30) * 1000);
      handle = client.watch(
        path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector },
        (type, object) => {
          events++;
          if (type === 'ERROR') {
            const status = object as { code?: number; reason?: string; message?: string };
            return settle(new KubeApiError(status.code ?? 500, status.reason ?? '', `watch ${what}: ${status.message ?? 'error event'}`));
          }
          const item = object as T;
          if (item.metadata?.resourceVersion) resourceVersion = item.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          const key = objectKey(item);
          const previous = cache.get(key);
          if (type === 'DELETED') {
            cache.delete(key);
            emit({ type: 'deleted', object: item });
          } else {
            cache.set(key, item);
            emit(previous ? { type: 'updated', object: item, previous } : { type: 'added', object: item });
          }
        },
        (error) => settle(error),
      );
      if (settled) handle.close();
      else closeWatch = () => settle(null);
    });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!stopped) {
      try {
        if (needList) {
          await relist();
          needList = false;
        }
        // stop() may have come while the list was under way.
        if (stopped) break;
        const started = Date.now();
        const events = await watchOnce();
        // A watch the server ends at once, with nothing in it, must not turn into a busy loop.
        failures = events === 0 && Date.now() - started < 1_000 ? failures + 1 : 0;
        if (failures > 0 && !stopped) await sleep(backoff(failures));
      } catch (error) {
        if (stopped) break;
        lastError = error;
        if (isGone(error)) {
          stats.relistsAfterGone++;
          log.info({ resource: what, resourceVersion }, 'resourceVersion expired (410 Gone), listing again');
          needList = true;
          continue;
        }
        if (options.optional && isNotFound(error)) {
          absent();
          needList = true;
          await sleep(maxMs);
          continue;
        }
        stats.errors++;
        failures++;
        const delay = backoff(failures);
        log.warn({ err: error, resource: what, retryInMs: delay }, 'list/watch failed, retrying');
        await sleep(delay);
      }
    }
    running = false;
  }

  function backoff(failures: number): number {
    const base = Math.min(maxMs, initialMs * 2 ** (failures - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  return {
    start() {
      if (running || stopped) return;
      running = true;
      void run();
    },
    waitForSync(timeoutMs) {
      if (synced) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${what} not synced within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`)),
          timeoutMs,
        );
        syncWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    stop() {
      stopped = true;
      closeWatch?.();
      wake?.();
    },
    get(ns, name) {
      return cache.get(ns ? `${ns}/${name}` : name);
    },
    list() {
      return [...cache.values()];
    },
    get synced() {
      return synced;
    },
    get stats() {
      return stats;
    },
  };
}
