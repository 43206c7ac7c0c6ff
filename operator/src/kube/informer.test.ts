import { createLogger } from '@evshare/kit';
import { KubeApiError, type KubeClient, type Query, type WatchEventType } from './client';
import { createInformer, type InformerEvent } from './informer';
import type { KubeObject } from './resources';

interface FakeWatch {
  query: Query;
  send(type: WatchEventType, object: unknown): void;
  end(error: Error | null): void;
  closed: boolean;
}

/** A scripted API server: lists answer from `state`, watches are driven by the test. */
function fakeClient() {
  let state: { resourceVersion: string; items: KubeObject[] } = { resourceVersion: '1', items: [] };
  let failLists = 0;
  let served = true;
  let listCalls = 0;
  const watches: FakeWatch[] = [];
  const client: KubeClient = {
    async request(_method, _path, options) {
      listCalls++;
      if (!served) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (failLists > 0) {
        failLists--;
        throw new Error('connection refused');
      }
      expect(options?.query?.limit).toBe(500);
      return { metadata: { resourceVersion: state.resourceVersion }, items: state.items } as never;
    },
    watch(_path, query, onEvent, onClose) {
      const watch: FakeWatch = {
        query,
        closed: false,
        send: (type, object) => onEvent(type, object),
        end: (error) => onClose(error),
      };
      watches.push(watch);
      return {
        close() {
          watch.closed = true;
        },
      };
    },
  };
  return {
    client,
    watches,
    setState(next: typeof state) {
      state = next;
    },
    failNextLists(n: number) {
      failLists = n;
    },
    setServed(value: boolean) {
      served = value;
    },
    get listCalls() {
      return listCalls;
    },
  };
}

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });
const log = createLogger('informer-test', 'silent');

async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('informer', () => {
  function setup(optional = false) {
    const fake = fakeClient();
    const events: Array<InformerEvent<KubeObject>> = [];
    const informer = createInformer<KubeObject>({
      client: fake.client,
      resource: { group: '', version: 'v1', plural: 'pods' },
      namespace: 'ns',
      log,
      onEvent: (e) => events.push(e),
      backoff: { initialMs: 10, maxMs: 40 },
      watchTimeoutSeconds: 60,
      optional,
    });
    return { fake, events, informer };
  }

  it('lists, then watches from the list resourceVersion and applies events', async () => {
    const { fake, events, informer } = setup();
    fake.setState({ resourceVersion: '10', items: [obj('a', '5')] });
    informer.start();
    await informer.waitForSync(1_000);
    await until(() => fake.watches.length === 1, 'a watch');
    expect(fake.watches[0]!.query).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true, timeoutSeconds: 60 });
    fake.watches[0]!.send('ADDED', obj('b', '11'));
    fake.watches[0]!.send('MODIFIED', obj('a', '12'));
    fake.watches[0]!.send('DELETED', obj('b', '13'));
    fake.watches[0]!.send('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['added:a', 'added:b', 'updated:a', 'deleted:b']);
    // The server ends the watch (its timeout): watch again from the bookmark.
    fake.watches[0]!.end(null);
    await until(() => fake.watches.length === 2, 'a second watch');
    expect(fake.watches[1]!.query.resourceVersion).toBe('20');
    expect(informer.stats.lists).toBe(1);
    informer.stop();
  });

  it('lists again on 410 Gone and reports what changed meanwhile, deletions included', async () => {
    const { fake, events, informer } = setup();
    fake.setState({ resourceVersion: '10', items: [obj('a', '5'), obj('b', '6')] });
    informer.start();
    await until(() => fake.watches.length === 1, 'a watch');
    fake.setState({ resourceVersion: '30', items: [obj('a', '25'), obj('c', '28')] });
    fake.watches[0]!.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (29)' });
    await until(() => fake.watches.length === 2, 'a watch after the relist');
    expect(fake.watches[1]!.query.resourceVersion).toBe('30');
    expect(informer.stats.relistsAfterGone).toBe(1);
    expect(events.slice(2).map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['deleted:b', 'updated:a', 'added:c']);
    informer.stop();
  });

  it('also lists again when the watch request itself answers 410', async () => {
    const { fake, informer } = setup();
    informer.start();
    await until(() => fake.watches.length === 1, 'a watch');
    fake.watches[0]!.end(new KubeApiError(410, 'Gone', 'watch: gone'));
    await until(() => fake.watches.length === 2, 'a second watch');
    expect(informer.stats.lists).toBe(2);
    informer.stop();
  });

  it('retries a dropped watch with backoff from the last resourceVersion, without listing', async () => {
    const { fake, informer } = setup();
    fake.setState({ resourceVersion: '10', items: [] });
    informer.start();
    await until(() => fake.watches.length === 1, 'a watch');
    fake.watches[0]!.send('ADDED', obj('a', '11'));
    const droppedAt = Date.now();
    fake.watches[0]!.end(new Error('socket hang up'));
    await until(() => fake.watches.length === 2, 'a retry');
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(7);
    expect(fake.watches[1]!.query.resourceVersion).toBe('11');
    expect(informer.stats).toMatchObject({ lists: 1, errors: 1 });
    informer.stop();
  });

  it('keeps retrying a failing list and syncs once it answers', async () => {
    const { fake, informer } = setup();
    fake.failNextLists(3);
    informer.start();
    await informer.waitForSync(2_000);
    expect(informer.stats.errors).toBe(3);
    informer.stop();
  });

  it('waitForSync names the resource and the last error when it times out', async () => {
    const { fake, informer } = setup();
    fake.failNextLists(1000);
    informer.start();
    await expect(informer.waitForSync(100)).rejects.toThrow(/pods in ns not synced within 100 ms: connection refused/);
    informer.stop();
  });

  it('an optional resource the server does not serve syncs empty, and is listed again until it appears', async () => {
    const { fake, events, informer } = setup(true);
    fake.setServed(false);
    informer.start();
    await informer.waitForSync(1_000);
    expect(informer.list()).toEqual([]);
    await until(() => fake.listCalls >= 3, 'more list attempts');
    expect(informer.stats.errors).toBe(0);
    fake.setState({ resourceVersion: '7', items: [obj('so', '7')] });
    fake.setServed(true);
    await until(() => fake.watches.length === 1, 'a watch once it is served');
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['so']);
    // Its CRD goes away: what was cached goes with it.
    fake.setServed(false);
    fake.watches[0]!.end(new KubeApiError(404, 'NotFound', 'gone'));
    await until(() => informer.list().length === 0, 'the cache emptied');
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['added:so', 'deleted:so']);
    informer.stop();
  });

  it('a required resource that is not served never syncs', async () => {
    const { fake, informer } = setup();
    fake.setServed(false);
    informer.start();
    await expect(informer.waitForSync(100)).rejects.toThrow(/not synced within 100 ms: the server could not find/);
    informer.stop();
  });

  it('stops watching when stopped', async () => {
    const { fake, informer } = setup();
    informer.start();
    await until(() => fake.watches.length === 1, 'a watch');
    informer.stop();
    expect(fake.watches[0]!.closed).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.watches).toHaveLength(1);
  });
});
