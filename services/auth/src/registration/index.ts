import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Express, Request, Response } from 'express';
import {
  Problem,
  SESSION_COOKIE,
  env,
  problems,
  smsSubject,
  validate,
  type Bus,
  type KeyValueStore,
  type Pool,
  type SessionRecord,
  type SessionStore,
  type SmsMessage,
} from '@evshare/kit';
import { codeBody, deregisterBody, registerBody } from '@evshare/api';
import type { LoginThrottle } from '../throttle';
import { findCredentialsById } from '../members';
import { createCodeStore } from './codes';
import { deregister } from './deregister';

/** Registration settings, part of the auth service's configuration. */
export const registrationConfigShape = {
  REGISTRATION_CODE_TTL_MS: env.positiveInt(5 * 60_000),
  REGISTRATION_CODE_INTERVAL_MS: env.positiveInt(60_000),
  REGISTRATION_CODES_PER_DAY: env.positiveInt(10),
  REGISTRATION_CODE_ATTEMPTS: env.positiveInt(5),
  /** Codes per client address (IPv6: per /64) per hour, for any phones. */
  REGISTRATION_CODES_PER_ADDRESS_PER_HOUR: env.positiveInt(10),
  /** Codes per minute for the whole platform. */
  REGISTRATION_CODES_GLOBAL_PER_MINUTE: env.positiveInt(120),
};

export interface RegistrationDeps {
  config: z.infer<z.ZodObject<typeof registrationConfigShape>>;
  db: Pool;
  bus: Bus;
  sessions: SessionStore;
  /** The login-state database (codes and their counters live there). */
  throttleStore: KeyValueStore;
  throttle: LoginThrottle;
  /** Runs password work in one of the bounded argon2 slots, or refuses 503 when none frees in time. */
  inHashSlot: <T>(req: Request, work: () => Promise<T>) => Promise<T>;
  /** hashPassword and verifyPassword, counted. */
  hash: (password: string) => Promise<string>;
  verify: (passwordHash: string | undefined, password: string) => Promise<boolean>;
  currentSession: (req: Request) => Promise<SessionRecord>;
  setSessionCookie: (req: Request, res: Response, key: string) => void;
  sessionView: (record: SessionRecord, key?: string) => Record<string, unknown>;
}

/** Member self-service in the authentication service: register by SMS code, deregister (patent claim 7). */
export function mountRegistration(app: Express, deps: RegistrationDeps): void {
  const { config, db, bus, sessions } = deps;
  const codes = createCodeStore(deps.throttleStore, {
    ttlMs: config.REGISTRATION_CODE_TTL_MS,
    intervalMs: config.REGISTRATION_CODE_INTERVAL_MS,
    perDay: config.REGISTRATION_CODES_PER_DAY,
    attempts: config.REGISTRATION_CODE_ATTEMPTS,
    perAddressPerHour: config.REGISTRATION_CODES_PER_ADDRESS_PER_HOUR,
    globalPerMinute: config.REGISTRATION_CODES_GLOBAL_PER_MINUTE,
  });
  const refusals = {
    minute: 'A code was sent to this phone less than a minute ago',
    day: 'Too many codes for this phone today',
    address: 'Too many codes asked for from this address; wait before asking again',
    global: 'Too many codes are being sent right now; wait before asking again',
  } as const;

  app.post('/api/v1/auth/register/code', async (req, res) => {
    const body = validate(codeBody, req.body, 'body');
    const issued = await codes.issue(body.phone, req.ip ?? 'unknown');
    if (!issued.issued) throw problems.tooManyRequests(issued.retryAfterSeconds, refusals[issued.window]);
    // Sent whether or not the phone is registered: only its owner learns that, at registration.
    const sms: SmsMessage = {
      reference: `register:${randomUUID()}`,
      phone: body.phone,
      template: 'verification-code',
      locale: body.locale,
      params: { code: issued.code, minutes: Math.max(1, Math.round(config.REGISTRATION_CODE_TTL_MS / 60_000)) },
      at: new Date().toISOString(),
    };
    await bus.publishDurable(smsSubject('verification-code'), sms, sms.reference);
    res.status(202).json({ expiresInSeconds: Math.round(config.REGISTRATION_CODE_TTL_MS / 1000) });
  });

  app.post('/api/v1/auth/register', async (req, res) => {
    const body = validate(registerBody, req.body, 'body');
    // The slot before the code: a registration shed for capacity has not used up its code.
    const passwordHash = await deps.inHashSlot(req, async () => {
      const verdict = await codes.verify(body.phone, body.code);
      if (!verdict.ok) {
        if (verdict.reason === 'expired')
          throw new Problem(400, 'verification-code-expired', 'No valid code', 'There is no valid code for this phone; request a new one');
        throw new Problem(400, 'verification-code-wrong', 'Wrong code', `The code is wrong; ${verdict.attemptsLeft} attempts left`, {
          invalidParams: [{ name: 'body.code', reason: 'is wrong' }],
          attemptsLeft: verdict.attemptsLeft,
        });
      }
      return deps.hash(body.password);
    });
    let memberId: string;
    try {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO members (phone, display_name, password_hash, role, status, locale) VALUES ($1, $2, $3, 'member', 'active', $4) RETURNING id`,
        [body.phone, body.displayName, passwordHash, body.locale],
      );
      memberId = rows[0]!.id;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw problems.conflict('account-exists', 'A member with this phone already exists; log in instead');
      throw error;
    }
    const { key, record } = await sessions.create({ memberId, role: 'member', address: req.ip ?? 'unknown' });
    deps.setSessionCookie(req, res, key);
    req.log.info({ event: 'registered', memberId }, 'member registered');
    res.status(201).json(deps.sessionView(record, key));
  });

  app.post('/api/v1/auth/deregister', async (req, res) => {
    const session = await deps.currentSession(req);
    const body = validate(deregisterBody, req.body, 'body');
    const address = req.ip ?? 'unknown';
    const member = await deps.inHashSlot(req, async () => {
      const attempt = await deps.throttle.attempt(session.memberId, address);
      if (!attempt.allowed) throw problems.tooManyRequests(attempt.retryAfterSeconds);
      const found = await findCredentialsById(db, session.memberId);
      if (!found || !(await deps.verify(found.passwordHash, body.password))) {
        throw problems.validation([{ name: 'body.password', reason: 'is wrong' }]);
      }
      await attempt.succeeded();
      return found;
    });
    if (member.role === 'admin') throw problems.forbidden('Operator accounts are closed by another operator, not deregistered');
    await deregister(db, member.id);
    await sessions.revokeMember(member.id, 'logout');
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    req.log.info({ event: 'deregistered', memberId: member.id }, 'member deregistered');
    res.status(204).end();
  });
}
