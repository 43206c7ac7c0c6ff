import os from 'node:os';
import { z } from 'zod';
import type { Express, NextFunction, Request, Response } from 'express';
import {
  PASSWORD_RULES,
  SUBJECTS,
  createHealth,
  membershipKeyEnv,
  signMembership,
  createHttpApp,
  createMetrics,
  ensureSyncVersion,
  env,
  hashPassword,
  listen,
  problems,
  sessionKeyFrom,
  syncVersionKey,
  validate,
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
import { DOMAINS } from './domains';
import { rentalConfigSchema } from './rental/config';
import { rentalSyncState } from './rental/model';
import { refuseDevTopUpsInProduction, walletConfigSchema, walletDefaults } from './wallet/config';
import { createLoadTracker } from './load';
import { createMemberRepository, type MemberProfile, type MemberRepository } from './members';
import { markRead, notifyMember, unreadNotifications } from './notifications';
import { parseSyncEtag, syncEtag } from './sync';

const baseConfigSchema = z.object({
  /** Signs this instance's announcements, load reports and withdrawal (shared with gateway and operator). */
  ...membershipKeyEnv,
  PORT: env.port(8082),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  /** Stable name of this instance (pod name in Kubernetes); defaults to host and port. */
  INSTANCE_ID: z.string().optional(),
  POD_NAME: z.string().optional(),
  /** The URL the balancer should forward to (announced on NATS); defaults to the listening URL. */
  PUBLIC_URL: env.optionalUrl(),
  TRUST_PROXY: z.string().default('loopback'),
  /** Pages besides the request's own host whose requests may use the session cookie. */
  ALLOWED_ORIGINS: env.list(),
  /** Requests this instance serves at once; the balancer queues beyond it. */
  MAX_CONCURRENCY: env.positiveInt(64),
  LOAD_REPORT_INTERVAL_MS: env.positiveInt(1000),
  /** After withdrawing, keep serving this long so balancers and endpoints catch up. */
  DRAIN_DELAY_MS: env.durationMs(0),
  MEMBER_CACHE_TTL_MS: env.durationMs(5 * 60_000),
  /** Sliding session expiry; must equal the auth service's, since every access refreshes it. */
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  /** How often the web platform should poll /api/v1/sync. */
  SYNC_INTERVAL_MS: env.positiveInt(5000),
});
/** The APP service's variables, with those of its business domains. */
export const appConfigSchema = baseConfigSchema
  .extend(rentalConfigSchema.shape)
  .extend(walletConfigSchema.shape)
  .superRefine(refuseDevTopUpsInProduction)
  .overwrite(walletDefaults);
export type AppConfig = z.infer<typeof appConfigSchema>;

export interface AppDeps {
  config: AppConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  sessions: SessionStore;
  /** The data cache cluster. */
  cache: KeyValueStore;
}

/** What a business domain may hand back: background work to end when the instance stops. */
export interface DomainHandle {
  stop(): void;
}

/** What a business domain's routes get from the APP service. */
export interface AppContext {
  config: AppConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  cache: KeyValueStore;
  sessions: SessionStore;
  members: MemberRepository;
  /** Middleware: requires a live session and sets req.session. */
  authenticate: (req: Request, res: Response, next: NextFunction) => Promise<void>;
  /** Middleware (after authenticate): operators only. */
  requireAdmin: (req: Request, res: Response, next: NextFunction) => void;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      session?: SessionRecord;
    }
  }
}

const uuid = z.string().uuid('must be a UUID');
const phone = z.string().regex(/^\+?[0-9]{6,15}$/, 'must be 6 to 15 digits, optionally starting with +');
const username = z.string().regex(/^[a-z][a-z0-9_.-]{2,31}$/i, 'must be 3 to 32 letters, digits, or _.- starting with a letter');
const displayName = z.string().trim().min(1, 'is required').max(64, 'must be at most 64 characters');
export const newMemberBody = z
  .object({
    phone: phone.optional(),
    username: username.optional(),
    displayName,
    password: z.string().min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`).max(PASSWORD_RULES.maxLength),
    role: z.enum(['member', 'admin']).default('member'),
  })
  .strict()
  .refine((b) => b.phone !== undefined || b.username !== undefined, { message: 'phone or username is required', path: ['phone'] });
export const profilePatch = z.object({ displayName }).strict();
export const notificationBody = z
  .object({
    kind: z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/, 'must be a lower-case word like "notice"'),
    title: z.string().trim().min(1, 'is required').max(200),
    body: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The APP service (patent claims 1-2): the member API behind the balancer; any instance serves any member. */
export async function startApp(deps: AppDeps): Promise<RunningService & { id: string; reportLoad(): AppLoad }> {
  const { config, log, db, bus, sessions, cache } = deps;
  const health = createHealth();
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
  const authenticate = async (req: Request, _res: Response, next: NextFunction) => {
    const key = sessionKeyFrom(req.headers);
    if (!key) throw problems.unauthenticated();
    const session = await sessions.resolve(key, { address: req.ip, appId: id });
    if (!session) throw problems.unauthenticated('The session is unknown or has expired; log in again');
    await requireActive(session);
    req.session = session;
    load.seen(session.memberId);
    next();
  };
  const requireAdmin = (req: Request, _res: Response, next: NextFunction) => {
    if (req.session?.role !== 'admin') throw problems.forbidden('Operators only');
    next();
  };
  const context: AppContext = { config, log, db, bus, cache, sessions, members, authenticate, requireAdmin };
  const domainHandles: DomainHandle[] = [];

  const routes = (app: Express) => {
    // The periodic poll: one pipelined read (session + version) answers an unchanged state.
    app.get('/api/v1/sync', async (req, res) => {
      const key = sessionKeyFrom(req.headers);
      if (!key) throw problems.unauthenticated();
      const claimed = parseSyncEtag(req.headers['if-none-match']);
      const [session, claimedVersion] = await Promise.all([
        sessions.resolve(key, { address: req.ip, appId: id }),
        claimed ? cache.get(syncVersionKey(claimed.memberId)) : undefined,
      ]);
      if (!session) throw problems.unauthenticated('The session is unknown or has expired; log in again');
      load.seen(session.memberId);
      res.setHeader('Cache-Control', 'private, no-cache');
      if (claimed && claimed.memberId === session.memberId && claimedVersion === claimed.version) {
        res.setHeader('ETag', syncEtag(session.memberId, claimed.version));
        res.status(304).end();
        return;
      }
      const version = await ensureSyncVersion(cache, session.memberId);
      const [member, notifications, rental] = await Promise.all([
        members.profile(session.memberId),
        unreadNotifications(db, session.memberId),
        rentalSyncState(db, session.memberId),
      ]);
      await requireActive(session, member);
      res.setHeader('ETag', syncEtag(session.memberId, version));
      res.json({ version, member, notifications, ...rental, pollAfterMs: config.SYNC_INTERVAL_MS });
    });

    app.get('/api/v1/me', authenticate, async (req, res) => {
      const member = await members.profile(req.session!.memberId);
      if (!member) throw problems.notFound('No such member');
      res.json(member);
    });
    app.patch('/api/v1/me', authenticate, async (req, res) => {
      const body = validate(profilePatch, req.body, 'body');
      res.json(await members.updateProfile(req.session!.memberId, body));
    });
    app.get('/api/v1/notifications', authenticate, async (req, res) => {
      res.json({ items: await unreadNotifications(db, req.session!.memberId) });
    });
    app.post('/api/v1/notifications/:id/read', authenticate, async (req, res) => {
      const notificationId = validate(uuid, req.params.id, 'path.id');
      // Another member's notification is indistinguishable from a missing one.
      if (!(await markRead(db, req.session!.memberId, notificationId))) throw problems.notFound('No such notification');
      await members.changed(req.session!.memberId);
      res.status(204).end();
    });

    app.post('/api/v1/admin/members', authenticate, requireAdmin, async (req, res) => {
      const body = validate(newMemberBody, req.body, 'body');
      const member = await members.create({ ...body, passwordHash: await hashPassword(body.password) });
      res.status(201).location(`/api/v1/admin/members/${member.id}`).json(member);
    });
    app.get('/api/v1/admin/members/:id', authenticate, requireAdmin, async (req, res) => {
      const member = await members.profile(validate(uuid, req.params.id, 'path.id'));
      if (!member) throw problems.notFound('No such member');
      res.json(member);
    });
    app.get('/api/v1/admin/members/:id/sessions', authenticate, requireAdmin, async (req, res) => {
      const sessionsOfMember = await sessions.sessionsOf(validate(uuid, req.params.id, 'path.id'));
      res.json({ items: sessionsOfMember.map(({ sessionHash: _hash, ...rest }) => rest) });
    });
    app.post('/api/v1/admin/members/:id/notifications', authenticate, requireAdmin, async (req, res) => {
      const memberId = validate(uuid, req.params.id, 'path.id');
      const body = validate(notificationBody, req.body, 'body');
      if (!(await members.profile(memberId))) throw problems.notFound('No such member');
      res.status(201).json(await notifyMember({ db, cache, bus }, memberId, body));
    });

    for (const mount of DOMAINS) {
      const handle = mount(app, context);
      if (handle) domainHandles.push(handle);
    }
  };

  const app = createHttpApp({
    log,
    metrics: createMetrics('app', config.INSTANCE_ID ?? config.POD_NAME),
    health,
    trustProxy: config.TRUST_PROXY,
    allowedOrigins: config.ALLOWED_ORIGINS,
    responseHeaders: instanceHeader,
    hooks: { start: load.begin, end: load.end },
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
  const reporter = setInterval(() => publishMembership(SUBJECTS.appLoad(id), reportLoad()), config.LOAD_REPORT_INTERVAL_MS);
  reporter.unref();
  log.info({ id, url }, 'APP instance announced');

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
      for (const handle of domainHandles) handle.stop();
      await server.close();
      load.stop();
    },
  };
}
