import { z } from 'zod';
import type { Express, Request, Response } from 'express';
import {
  PASSWORD_RULES,
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
} from '@evshare/kit';
import { createLoginThrottle } from './throttle';
import { findCredentials, findCredentialsById, setPasswordHash } from './members';
import { mountRegistration, registrationConfigShape } from './registration';

export const authConfigSchema = z.object({
  ...serviceEnv('auth', 8081),
  /** Which proxies may set X-Forwarded-For (express `trust proxy`): the gateway or ingress. */
  TRUST_PROXY: z.string().default('loopback'),
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  COOKIE_SECURE: env.bool(false),
  LOGIN_WINDOW_MS: env.durationMs(15 * 60_000),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: env.positiveInt(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: env.positiveInt(50),
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

const password = z.string().min(1, 'is required').max(PASSWORD_RULES.maxLength, `must be at most ${PASSWORD_RULES.maxLength} characters`);
const newPassword = z
  .string()
  .min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`)
  .max(PASSWORD_RULES.maxLength, `must be at most ${PASSWORD_RULES.maxLength} characters`);
export const loginBody = z.object({ account: z.string().trim().min(1, 'is required').max(64, 'must be at most 64 characters'), password }).strict();
export const passwordBody = z
  .object({ currentPassword: password, newPassword })
  .strict()
  .refine((b) => b.currentPassword !== b.newPassword, { message: 'must differ from the current password', path: ['newPassword'] });

/** The member authentication service: login, logout, password change (patent claim 3). */
export async function startAuth(deps: AuthDeps): Promise<RunningService> {
  const { config, log, db, sessions } = deps;
  const health = createHealth();
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('sessions', () => deps.throttleStore.ping());
  health.addCheck('bus', () => deps.bus.ping());
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
  const currentSession = async (req: Request) => {
    const key = sessionKeyFrom(req.headers);
    if (!key) throw problems.unauthenticated();
    const record = await sessions.resolve(key, { address: req.ip });
    if (!record) throw problems.unauthenticated('The session is unknown or has expired; log in again');
    return record;
  };

  const routes = (app: Express) => {
    app.post('/api/v1/auth/login', async (req, res) => {
      const body = validate(loginBody, req.body, 'body');
      const address = req.ip ?? 'unknown';
      // Counted before the (deliberately slow) verification: parallel guesses cannot all pass.
      const attempt = await throttle.attempt(body.account, address);
      if (!attempt.allowed) throw problems.tooManyRequests(attempt.retryAfterSeconds, 'Too many failed logins; wait before trying again');
      const member = await findCredentials(db, body.account);
      if (!(await verifyPassword(member?.passwordHash, body.password)) || !member) {
        req.log.info({ event: 'login.failed' }, 'login failed');
        throw problems.badCredentials();
      }
      await attempt.succeeded();
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
      const attempt = await throttle.attempt(record.memberId, address);
      if (!attempt.allowed) throw problems.tooManyRequests(attempt.retryAfterSeconds);
      const member = await findCredentialsById(db, record.memberId);
      if (!member || !(await verifyPassword(member.passwordHash, body.currentPassword))) {
        throw problems.validation([{ name: 'body.currentPassword', reason: 'is wrong' }]);
      }
      await attempt.succeeded();
      await setPasswordHash(db, member.id, await hashPassword(body.newPassword));
      // Every session, this one included, ends; the caller continues on a new key.
      await sessions.revokeMember(member.id, 'password-changed');
      const { key, record: fresh } = await sessions.create({ memberId: member.id, role: member.role, address });
      setSessionCookie(req, res, key);
      res.json(sessionView(fresh, key));
    });

    mountRegistration(app, { config, db, bus: deps.bus, sessions, throttleStore: deps.throttleStore, throttle, currentSession, setSessionCookie, sessionView });
  };

  const app = createHttpApp({
    log,
    metrics: createMetrics('auth', config.INSTANCE_ID),
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
