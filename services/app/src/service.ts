import os from 'node:os';
import type { Express } from 'express';
import {
  SUBJECTS,
  createHealth,
  signMembership,
  createHttpApp,
  createMetrics,
  listen,
  mountRoutes,
  problems,
  sessionGuard,
  type AppAnnouncement,
  type AppLoad,
  type Bus,
  type KeyValueStore,
  type Logger,
  type Pool,
  type RunningService,
  type SessionRecord,
  type SessionStore,
} from '@evshare/kit';
import type { AppConfig } from './config';
import type { AppContext, DomainMount } from './context';
import { DOMAINS } from './domains';
import { startLoadAgent, type LoadAgent } from './agent';
import { createLoadTracker } from './load';
import { createMemberRepository, type MemberProfile } from './members';
import { memberRoutes } from './member-routes';
import { pollRoute } from './poll';

export interface AppDeps {
  config: AppConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  sessions: SessionStore;
  /** The data cache cluster. */
  cache: KeyValueStore;
}

/** The APP service (patent claims 1-2): the member API behind the balancer; any instance serves any member. */
export async function startApp(deps: AppDeps): Promise<RunningService & { id: string; reportLoad(): AppLoad }> {
  const { config, log, db, bus, sessions, cache } = deps;
  const health = createHealth({ outageAfterMs: config.DEPENDENCY_OUTAGE_AFTER_MS });
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('sessions', () => cache.ping());
  health.addCheck('bus', () => bus.ping());
  const members = createMemberRepository(db, cache, config.MEMBER_CACHE_TTL_MS);
  const load = createLoadTracker();
  // The id is known before listening only when configured; otherwise it follows the port.
  let id = config.INSTANCE_ID ?? config.POD_NAME ?? '';
  const instanceHeader: Record<string, string> = {};

  /**
   * A suspended, deregistered or deleted member's session is ended here too, not only by the
   * revocation that the status change broadcasts: a session that escaped it (created while the
   * change committed) dies at its next request.
   */
  const requireActive = async (session: SessionRecord, member?: MemberProfile) => {
    const profile = member ?? (await members.profile(session.memberId));
    if (profile?.status === 'active') return;
    await sessions.revoke(session.sessionHash, 'admin');
    throw problems.unauthenticated(profile ? `The account is ${profile.status}` : 'The account no longer exists');
  };
  const guard = sessionGuard({
    sessions,
    appId: () => id,
    check: async (session) => {
      await requireActive(session);
      load.seen(session.memberId);
    },
  });
  const context: AppContext = { config, log, db, bus, cache, sessions, members, guard };
  const mounts: DomainMount[] = [];

  mounts.push({ routes: [pollRoute(context, { requireActive, seen: load.seen }), ...memberRoutes(context)] });
  for (const mount of DOMAINS) mounts.push(mount(context));
  const appRoutes = mounts.flatMap((mount) => mount.routes);
  const routes = (app: Express) => mountRoutes(app, appRoutes, { session: guard });

  const app = createHttpApp({
    log,
    metrics: createMetrics('app', config.INSTANCE_ID ?? config.POD_NAME),
    health,
    trustProxy: config.TRUST_PROXY,
    allowedOrigins: config.ALLOWED_ORIGINS,
    responseHeaders: instanceHeader,
    admission: { tier: 'app', slots: config.MAX_CONCURRENCY, deadlineCapMs: config.REQUEST_DEADLINE_MS },
    hooks: { start: load.begin, end: load.end },
    // The photo uploads' raw bodies; every other route takes JSON only.
    rawBodyTypes: [...new Set(appRoutes.flatMap(({ op }) => op.rawBody?.mediaTypes ?? []))],
    routes,
  });
  const server = await listen(app, config.PORT, config.HOST);
  id ||= `app-${os.hostname()}-${server.port}`;
  // Set before the first request can arrive: the object is shared with the header middleware.
  instanceHeader['X-App-Instance'] = id;
  const url = config.PUBLIC_URL ?? server.url;

  const announcement = (): AppAnnouncement => ({
    id,
    url,
    maxConcurrency: config.MAX_CONCURRENCY,
    ...(config.POD_NAME ? { pod: config.POD_NAME } : {}),
    startedAt,
  });
  const reportLoad = (): AppLoad => ({
    id,
    url,
    ...(config.POD_NAME ? { pod: config.POD_NAME } : {}),
    ...load.report(),
    maxConcurrency: config.MAX_CONCURRENCY,
    draining: health.draining,
    at: new Date().toISOString(),
  });
  const startedAt = new Date().toISOString();
  const key = config.MEMBERSHIP_SIGNING_KEY;
  const publishMembership = (subject: string, payload: object) => bus.publish(subject, signMembership(subject, payload, key));
  publishMembership(SUBJECTS.appAnnounce, announcement());
  const stopDiscovery = bus.subscribe(SUBJECTS.appDiscover, () => {
    if (!health.draining) publishMembership(SUBJECTS.appAnnounce, announcement());
  });
  // The agent reads the last report's event-loop utilization; a report summarizes (and resets) an interval.
  const reporter = setInterval(() => publishMembership(SUBJECTS.appLoad(id), reportLoad()), config.LOAD_REPORT_INTERVAL_MS);
  reporter.unref();
  const agent: LoadAgent | undefined =
    config.LOAD_AGENT_PORT === undefined
      ? undefined
      : await startLoadAgent(config.LOAD_AGENT_PORT, config.HOST, () => ({
          draining: health.draining,
          inflight: load.inflight,
          maxConcurrency: config.MAX_CONCURRENCY,
        }));
  log.info({ id, url, ...(agent ? { agentPort: agent.port } : {}) }, 'APP instance announced');

  return {
    name: 'app',
    id,
    url: server.url,
    port: server.port,
    health,
    reportLoad,
    async stop() {
      // Withdraw first so balancers stop choosing this instance, then let in-flight work finish.
      health.startDraining();
      stopDiscovery();
      publishMembership(SUBJECTS.appWithdraw, { id, reason: 'shutdown' });
      publishMembership(SUBJECTS.appLoad(id), reportLoad());
      await bus.flush().catch(() => undefined);
      if (config.DRAIN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.DRAIN_DELAY_MS));
      clearInterval(reporter);
      for (const mount of mounts) mount.stop?.();
      await Promise.all([server.close(), agent?.close()]);
      load.stop();
    },
  };
}
