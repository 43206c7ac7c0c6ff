import os from 'node:os';
import client from 'prom-client';
import { z } from 'zod';
import type { Express, Request, Response } from 'express';
import {
  Admission,
  PASSWORD_RULES,
  Shed,
  admissionSettings,
  SESSION_COOKIE,
  createHealth,
  createHttpApp,
  createMetrics,
  env,
  hashPassword,
  listen,
  problems,
  sessionKeyFrom,
  validate,
  verifyPassword,
  type Bus,
  type KeyValueStore,
  type Logger,
  type Pool,
  type RunningService,
  type SessionRecord,
  type SessionStore,
  serviceEnv,
  sessionGuard,
} from '@evshare/kit';
import { loginBody, passwordBody } from '@evshare/api';
import { createLoginThrottle } from './throttle';
import { findCredentials, findCredentialsById, setPasswordHash } from './members';
import { mountRegistration, registrationConfigShape } from './registration';

export const authConfigSchema = z.object({
  ...serviceEnv('auth', 8081),
  /** Which proxies may set X-Forwarded-For (express `trust proxy`): the gateway or ingress. */
  TRUST_PROXY: env.trustProxy('loopback'),
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  COOKIE_SECURE: env.bool(false),
  LOGIN_WINDOW_MS: env.durationMs(15 * 60_000),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: env.positiveInt(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: env.positiveInt(50),
  /**
   * argon2id checks run at once (each ~20-40 ms of one core and 19 MiB); more logins wait, bounded
   * by their deadline. Default: the cores this process may use.
   */
  PASSWORD_HASH_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .default(() => os.availableParallelism()),
  ADMIN_BOOTSTRAP_PASSWORD: z.string().min(PASSWORD_RULES.minLength).optional(),
  ...registrationConfigShape,
});
export type AuthConfig = z.infer<typeof authConfigSchema>;

export interface AuthDeps {
  config: AuthConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  sessions: SessionStore;
  /** Where failed-login counters live (the login-state database). */
  throttleStore: KeyValueStore;
}

/** The member authentication service: login, logout, password change (patent claim 3). */
export async function startAuth(deps: AuthDeps): Promise<RunningService> {
  const { config, log, db, sessions } = deps;
  const health = createHealth();
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('sessions', () => deps.throttleStore.ping());
  health.addCheck('bus', () => deps.bus.ping());
  const metrics = createMetrics('auth', config.INSTANCE_ID);
  const hashesStarted = new client.Counter({
    name: 'password_hashes_started_total',
    help: 'argon2id computations started (login, password change, registration, decoys included)',
    registers: [metrics.registry],
  });
  // The argon2 work in a bounded number of slots, with the same queue-by-time rule as requests:
  // under a login storm a login waits only while it can still be answered before its deadline,
  // and no hash is started for a client that has gone.
  const hashSlots = new Admission({
    slots: config.PASSWORD_HASH_CONCURRENCY,
    initialServiceMs: 30,
    onAdmitted: (waitedMs) => metrics.admissionWait.labels('auth-hash').observe(waitedMs / 1000),
    onShed: (reason) => metrics.admissionShed.labels('auth-hash', reason).inc(),
  });
  /** Runs `work` (which hashes) in a slot; a request that cannot get one in time gets 503 + Retry-After. */
  const inHashSlot = async <T>(req: Request, work: () => Promise<T>): Promise<T> => {
    let ticket;
    try {
      ticket = await hashSlots.admit(req.deadline, req.gone);
    } catch (error) {
      if (error instanceof Shed) throw problems.unavailable(error.retryAfterSeconds, 'Logins are at capacity; try again after the time in Retry-After');
      throw error;
    }
    try {
      return await work();
    } finally {
      ticket.release();
    }
  };
  const verify = (passwordHash: string | undefined, plain: string) => {
    hashesStarted.inc();
    return verifyPassword(passwordHash, plain);
  };
  const hash = (plain: string) => {
    hashesStarted.inc();
    return hashPassword(plain);
  };
  const throttle = createLoginThrottle(deps.throttleStore, {
    windowMs: config.LOGIN_WINDOW_MS,
    maxFailuresPerAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    maxFailuresPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
  });

  // Secure whenever the member reached us over TLS (req.secure reads X-Forwarded-Proto from a
  // trusted hop), and always with COOKIE_SECURE (the chart's production mode).
  const setSessionCookie = (req: Request, res: Response, key: string) => {
    res.cookie(SESSION_COOKIE, key, { httpOnly: true, sameSite: 'lax', secure: config.COOKIE_SECURE || req.secure, path: '/', maxAge: config.SESSION_TTL_MS });
  };
  const sessionView = (record: SessionRecord, key?: string) => ({
    ...(key ? { sessionKey: key } : {}),
    memberId: record.memberId,
    role: record.role,
    address: record.address,
    createdAt: new Date(record.createdAt).toISOString(),
    lastAccessAt: new Date(record.lastAccessAt).toISOString(),
    expiresAt: new Date(record.lastAccessAt + config.SESSION_TTL_MS).toISOString(),
    apps: record.apps,
  });
  const currentSession = sessionGuard({ sessions }).resolve;

  const routes = (app: Express) => {
    app.post('/api/v1/auth/login', async (req, res) => {
      const body = validate(loginBody, req.body, 'body');
      const address = req.ip ?? 'unknown';
      // The slot first: a login shed for capacity was never a guess, so it counts for no throttle.
      const member = await inHashSlot(req, async () => {
        // Counted before the (deliberately slow) verification: parallel guesses cannot all pass.
        const attempt = await throttle.attempt(body.account, address);
        if (!attempt.allowed) throw problems.tooManyRequests(attempt.retryAfterSeconds, 'Too many failed logins; wait before trying again');
        const found = await findCredentials(db, body.account);
        if (!(await verify(found?.passwordHash, body.password)) || !found) {
          req.log.info({ event: 'login.failed' }, 'login failed');
          throw problems.badCredentials();
        }
        await attempt.succeeded();
        return found;
      });
      if (member.status !== 'active') throw problems.forbidden(`The account is ${member.status}`);
      // A session key presented before login is never reused: it is ended and a new one issued.
      const previous = sessionKeyFrom(req.headers);
      if (previous) {
        const old = await sessions.resolve(previous);
        if (old) await sessions.revoke(old.sessionHash, 'logout');
      }
      const { key, record } = await sessions.create({ memberId: member.id, role: member.role, address });
      // A suspension or password change that committed while this login was verifying has already
      // revoked the member's sessions, so it missed this one: look again now that it exists.
      const now = await findCredentialsById(db, member.id);
      if (now?.status !== 'active' || now.passwordHash !== member.passwordHash) {
        await sessions.revoke(record.sessionHash, now?.status === 'active' ? 'password-changed' : 'admin');
        if (now?.status !== 'active') throw problems.forbidden(`The account is ${now?.status ?? 'gone'}`);
        throw problems.badCredentials();
      }
      setSessionCookie(req, res, key);
      req.log.info({ event: 'login', memberId: member.id }, 'logged in');
      res.json(sessionView(record, key));
    });

    app.post('/api/v1/auth/logout', async (req, res) => {
      const record = await currentSession(req);
      await sessions.revoke(record.sessionHash, 'logout');
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      res.status(204).end();
    });

    app.get('/api/v1/auth/session', async (req, res) => {
      res.json(sessionView(await currentSession(req)));
    });

    app.post('/api/v1/auth/password', async (req, res) => {
      const record = await currentSession(req);
      const body = validate(passwordBody, req.body, 'body');
      const address = req.ip ?? 'unknown';
      const member = await inHashSlot(req, async () => {
        const attempt = await throttle.attempt(record.memberId, address);
        if (!attempt.allowed) throw problems.tooManyRequests(attempt.retryAfterSeconds);
        const found = await findCredentialsById(db, record.memberId);
        if (!found || !(await verify(found.passwordHash, body.currentPassword))) {
          throw problems.validation([{ name: 'body.currentPassword', reason: 'is wrong' }]);
        }
        await attempt.succeeded();
        return found;
      });
      await setPasswordHash(db, member.id, await inHashSlot(req, () => hash(body.newPassword)));
      // Every session, this one included, ends; the caller continues on a new key.
      await sessions.revokeMember(member.id, 'password-changed');
      const { key, record: fresh } = await sessions.create({ memberId: member.id, role: member.role, address });
      setSessionCookie(req, res, key);
      res.json(sessionView(fresh, key));
    });

    mountRegistration(app, {
      config,
      inHashSlot,
      hash,
      verify,
      db,
      bus: deps.bus,
      sessions,
      throttleStore: deps.throttleStore,
      throttle,
      currentSession,
      setSessionCookie,
      sessionView,
    });
  };

  const app = createHttpApp({
    log,
    admission: admissionSettings('auth', config),
    metrics,
    health,
    trustProxy: config.TRUST_PROXY,
    allowedOrigins: config.ALLOWED_ORIGINS,
    routes,
  });
  const server = await listen(app, config.PORT, config.HOST);
  return {
    name: 'auth',
    url: server.url,
    port: server.port,
    health,
    async stop() {
      health.startDraining();
      await server.close();
    },
  };
}
