import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { SessionRecord } from '../session/record';
import type { SessionStore } from '../session/store';
import { sessionKeyFrom } from '../session/credentials';
import { problems } from './problem';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types its Request in the global namespace; augmenting it needs one
  namespace Express {
    interface Request {
      /** The caller's session, set by requireSession (and by mountRoutes for member and operator routes). */
      session?: SessionRecord;
    }
  }
}

export interface SessionGuardOptions {
  sessions: SessionStore;
  /** This instance's id, recorded in the session's list of serving instances (APP instances). */
  appId?: () => string;
  /**
   * Runs after the session resolved, before the route: e.g. the APP's check that the account is
   * still active, which ends a session that escaped a suspension's revocation.
   */
  check?: (session: SessionRecord, req: Request) => Promise<void> | void;
}

/** How a service authenticates a request by its session key (bearer token or cookie). */
export interface SessionGuard {
  /** The request's session, or a 401 problem; sets nothing and runs no `check` (for routes that overlap the lookup with other reads). */
  resolve: (req: Request) => Promise<SessionRecord>;
  /** `resolve` and then the service's `check`. */
  authenticate: (req: Request) => Promise<SessionRecord>;
  options: SessionGuardOptions;
}

export function sessionGuard(options: SessionGuardOptions): SessionGuard {
  const { sessions, appId, check } = options;
  const resolve = async (req: Request) => {
    const key = sessionKeyFrom(req.headers);
    if (!key) throw problems.unauthenticated();
    const session = await sessions.resolve(key, appId ? { address: req.ip, appId: appId() } : { address: req.ip });
    if (!session) throw problems.unauthenticated('The session is unknown or has expired; log in again');
    return session;
  };
  return {
    resolve,
    async authenticate(req) {
      const session = await resolve(req);
      if (check) await check(session, req);
      return session;
    },
    options,
  };
}

/** Middleware: a live session, set on `req.session`; 401 otherwise. */
export function requireSession(guard: SessionGuard): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    guard.authenticate(req).then((session) => {
      req.session = session;
      next();
    }, next);
  };
}

/** Middleware after requireSession: the session's role must be `role` (403 otherwise). */
export function requireRole(role: SessionRecord['role']): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    next(req.session?.role === role ? undefined : problems.forbidden(role === 'admin' ? 'Operators only' : `Only for the role ${role}`));
  };
}
