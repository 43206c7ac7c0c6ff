import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  Admission,
  DEADLINE_HEADER,
  problems,
  Problem,
  requestDeadline,
  sessionKeyFrom,
  Shed,
  type Logger,
  type PushNotification,
  type SessionStore,
  type Ticket,
  type TrustProxy,
} from '@evshare/kit';
import { livenessAction, sweepIntervalMs, type LivenessState } from './liveness';
import { CLOSE, encodeFrame, MAX_CLIENT_FRAME_BYTES, parseClientFrame, type FrameError, type ServerFrame } from './protocol';
import { fullBucket, takeToken, type Bucket, type RateLimit } from './rate-limit';
import { ConnectionRegistry } from './registry';
import { clientAddress, originAllowed } from './request';

export const PUSH_PATH = '/push';

/** A client that lets this much outgoing data pile up is not reading; it is cut off to bound memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** A revocation is remembered this long, so a session resolved just before it cannot register after it. */
const REVOKED_MEMORY_MS = 10_000;

export type CloseCause = 'unauthenticated' | 'revoked' | 'replaced' | 'dead' | 'slow' | 'forbidden-origin' | 'store-unavailable' | 'shutdown' | 'client';

export interface PushServerOptions {
  log: Logger;
  sessions: SessionStore;
  heartbeatIntervalMs: number;
  authTimeoutMs: number;
  maxConnectionsPerMember: number;
  /** A session not confirmed by a client ping for this long is looked up again. */
  sessionRecheckMs: number;
  trustProxy: TrustProxy;
  allowedOrigins: string[];
  rateLimit: RateLimit;
  /** Why each connection ended (metrics). */
  onClosed?: (cause: CloseCause) => void;
  /**
   * The services' admission rule for the handshake (the upgrade and the session lookup): a bounded
   * number at once, the rest queued while their deadline allows, else 503 + Retry-After.
   */
  admission: { admission: Admission; deadlineCapMs: number };
}

export interface PushServer {
  /** The HTTP server's `upgrade` listener. */
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Sends a notification to the member's connections on this instance; returns how many got it. */
  deliver(memberId: string, notification: PushNotification): number;
  /** Sends a notification to every open connection of members with this role (operators' alerts). */
  deliverToRole(role: 'member' | 'admin', notification: PushNotification): number;
  /** Closes the session's connections at once (logout, password change). */
  revoke(sessionHash: string, reason: string): void;
  online(): { members: number; connections: number };
  /** Refuses new connections, closes open ones with 1001 and waits up to timeoutMs for them to go. */
  close(timeoutMs: number): Promise<void>;
}

interface Session {
  /** Kept in memory only, to look the session up again; never logged. */
  key: string;
  hash: string;
  memberId: string;
  role: 'member' | 'admin';
}

interface Connection {
  socket: WebSocket;
  address: string;
  state: 'authenticating' | 'open' | 'closing';
  /** An auth lookup is in flight. */
  authPending: boolean;
  session?: Session;
  liveness: LivenessState;
  bucket: Bucket;
  /** The client was told it is rate limited and has not sent an accepted frame since. */
  throttled: boolean;
  lastCheckedAt: number;
  checking: boolean;
  authTimer?: NodeJS.Timeout;
}

export function createPushServer(options: PushServerOptions): PushServer {
  const { log, sessions, heartbeatIntervalMs: interval } = options;
  // Compression is off: client frames are tiny, and inflating untrusted input costs memory and CPU.
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false });
  const all = new Set<Connection>();
  const registry = new ConnectionRegistry<Connection>();
  const recentlyRevoked = new Map<string, number>();
  let stopping = false;
  let drained: (() => void) | undefined;

  const sendFrame = (conn: Connection, frame: ServerFrame) => sendText(conn, encodeFrame(frame));
  const sendError = (conn: Connection, error: FrameError) => sendFrame(conn, { type: 'error', ...error });

  function sendText(conn: Connection, text: string): boolean {
    if (conn.socket.readyState !== WebSocket.OPEN) return false;
    if (conn.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      terminate(conn, 'slow');
      return false;
    }
    conn.socket.send(text);
    return true;
  }

  /**
   * Marks a connection as ending and unregisters it at once, so nothing more is delivered while
   * the close handshake runs; false when it was already ending.
   */
  function end(conn: Connection, cause: CloseCause): boolean {
    if (conn.state === 'closing') return false;
    conn.state = 'closing';
    clearTimeout(conn.authTimer);
    if (conn.session) registry.remove(conn.session.memberId, conn.session.hash, conn);
    options.onClosed?.(cause);
    return true;
  }

  function close(conn: Connection, code: number, reason: string, cause: CloseCause): void {
    if (end(conn, cause)) conn.socket.close(code, reason);
  }

  function terminate(conn: Connection, cause: CloseCause): void {
    end(conn, cause);
    conn.socket.terminate();
  }

  function onSocketClosed(conn: Connection): void {
    end(conn, 'client');
    all.delete(conn);
    if (all.size === 0) drained?.();
  }

  async function authenticate(conn: Connection, key: string): Promise<void> {
    conn.authPending = true;
    let record;
    try {
      record = await sessions.resolve(key, { address: conn.address });
    } catch (error) {
      log.warn({ err: error }, 'session lookup failed during push authentication');
      close(conn, CLOSE.tryAgainLater, 'session store unavailable, retry shortly', 'store-unavailable');
      return;
    }
    conn.authPending = false;
    if (conn.state !== 'authenticating') return;
    if (!record) {
      close(conn, CLOSE.unauthenticated, 'invalid or expired session', 'unauthenticated');
      return;
    }
    if (recentlyRevoked.has(record.sessionHash)) {
      close(conn, CLOSE.unauthenticated, 'session revoked', 'revoked');
      return;
    }
    clearTimeout(conn.authTimer);
    conn.state = 'open';
    conn.session = { key, hash: record.sessionHash, memberId: record.memberId, role: record.role };
    conn.lastCheckedAt = performance.now();
    const existing = registry.ofMember(record.memberId);
    if (existing.size >= options.maxConnectionsPerMember) {
      // The newest connection is the one most likely in use (a reopened app, a new tab); the
      // oldest may be a half-open socket not yet detected as dead.
      const oldest = existing.values().next().value;
      if (oldest) close(oldest, CLOSE.tooManyConnections, `more than ${options.maxConnectionsPerMember} connections, closed the oldest`, 'replaced');
    }
    registry.add(record.memberId, record.sessionHash, conn);
    sendFrame(conn, { type: 'welcome', memberId: record.memberId, heartbeatIntervalMs: interval });
  }

  /** Looks the session up again (refreshing its last access); closes the connection when it is gone. */
  async function checkSession(conn: Connection, session: Session): Promise<'ok' | 'gone' | 'unavailable'> {
    let record;
    try {
      record = await sessions.resolve(session.key, { address: conn.address });
    } catch (error) {
      log.warn({ err: error }, 'session lookup failed during heartbeat');
      return 'unavailable';
    }
    if (!record) {
      close(conn, CLOSE.unauthenticated, 'session ended', 'unauthenticated');
      return 'gone';
    }
    conn.lastCheckedAt = performance.now();
    return 'ok';
  }

  async function heartbeat(conn: Connection, session: Session): Promise<void> {
    const outcome = await checkSession(conn, session);
    if (outcome === 'ok') sendFrame(conn, { type: 'pong', at: new Date().toISOString() });
    else if (outcome === 'unavailable') sendError(conn, { code: 'unavailable', message: 'The session could not be checked; the connection stays open' });
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    const now = performance.now();
    conn.liveness.lastSeenAt = now;
    if (conn.state === 'closing') return;
    const taken = takeToken(conn.bucket, options.rateLimit, now);
    conn.bucket = taken.bucket;
    if (!taken.allowed) {
      if (!conn.throttled)
        sendError(conn, { code: 'rate-limited', message: `More than ${options.rateLimit.ratePerSecond} frames per second; excess frames are dropped` });
      conn.throttled = true;
      return;
    }
    conn.throttled = false;
    const parsed = parseClientFrame(toBuffer(data), isBinary);

    if (conn.state === 'authenticating') {
      if (conn.authPending) {
        sendError(conn, { code: 'invalid-frame', message: 'Authentication is in progress; wait for the welcome frame' });
      } else if ('frame' in parsed && parsed.frame.type === 'auth') {
        void authenticate(conn, parsed.frame.sessionKey);
      } else {
        close(conn, CLOSE.unauthenticated, 'the first frame must be {"type":"auth","sessionKey":...}', 'unauthenticated');
      }
      return;
    }
    if ('error' in parsed) {
      sendError(conn, parsed.error);
      return;
    }
    const session = conn.session;
    if (!session) return;
    if (parsed.frame.type === 'auth') sendError(conn, { code: 'already-authenticated', message: 'This connection is already authenticated' });
    else void heartbeat(conn, session);
  }

  function onConnection(socket: WebSocket, req: IncomingMessage, ticket: Ticket): void {
    const now = performance.now();
    const conn: Connection = {
      socket,
      address: clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], options.trustProxy),
      state: 'authenticating',
      authPending: false,
      liveness: { lastSeenAt: now, lastPingAt: now },
      bucket: fullBucket(options.rateLimit, now),
      throttled: false,
      lastCheckedAt: now,
      checking: false,
    };
    all.add(conn);
    const seen = () => {
      conn.liveness.lastSeenAt = performance.now();
    };
    socket.on('pong', seen);
    socket.on('ping', seen);
    socket.on('message', (data, isBinary) => {
      // A bug met by one client's frame ends that connection, not the service.
      try {
        onMessage(conn, data, isBinary);
      } catch (error) {
        log.error({ err: error, memberId: conn.session?.memberId }, 'push frame handling failed');
        close(conn, CLOSE.internalError, 'internal error', 'client');
      }
    });
    socket.on('close', () => onSocketClosed(conn));
    // Oversized frames and protocol violations: ws closes the socket itself (1009, 1002).
    socket.on('error', (error) => log.debug({ err: error, memberId: conn.session?.memberId }, 'push socket error'));

    conn.authTimer = setTimeout(
      () => close(conn, CLOSE.unauthenticated, `not authenticated within ${options.authTimeoutMs} ms`, 'unauthenticated'),
      options.authTimeoutMs,
    );
    const key = sessionKeyFrom(req.headers);
    if (key === undefined) {
      ticket.release();
      return;
    }
    const fromCookie = !req.headers.authorization?.startsWith('Bearer ');
    if (fromCookie && !originAllowed(req.headers, options.allowedOrigins, options.trustProxy.trusts(req.socket.remoteAddress ?? '', 0))) {
      ticket.release();
      close(conn, CLOSE.forbiddenOrigin, 'the session cookie is not accepted from this origin', 'forbidden-origin');
      return;
    }
    void authenticate(conn, key).finally(() => ticket.release());
  }

  function sweep(): void {
    const now = performance.now();
    for (const conn of all) {
      if (conn.state === 'closing') continue;
      const action = livenessAction(conn.liveness, now, interval);
      if (action === 'dead') {
        terminate(conn, 'dead');
        continue;
      }
      if (action === 'ping') {
        conn.liveness.lastPingAt = now;
        conn.socket.ping();
      }
      const session = conn.session;
      if (conn.state === 'open' && session && !conn.checking && now - conn.lastCheckedAt >= options.sessionRecheckMs) {
        conn.checking = true;
        void checkSession(conn, session).finally(() => {
          conn.checking = false;
        });
      }
    }
    for (const [hash, until] of recentlyRevoked) if (until <= now) recentlyRevoked.delete(hash);
  }
  const sweeper = setInterval(sweep, sweepIntervalMs(interval));

  function rejectUpgrade(socket: Duplex, problem: Problem, path: string): void {
    const body = JSON.stringify(problem.toJSON(path));
    const retryAfter = problem.extra.retryAfterSeconds === undefined ? '' : `Retry-After: ${problem.extra.retryAfterSeconds}\r\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nConnection: close\r\n${retryAfter}` +
        `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', (error) => log.debug({ err: error }, 'upgrade socket error'));
      // An upgrade listener that throws takes the process down: whatever the client sent, a failure
      // here ends this one handshake.
      try {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (path !== PUSH_PATH) {
          rejectUpgrade(socket, problems.notFound(`No WebSocket endpoint at ${path.slice(0, 100)}`), path.slice(0, 100));
          return;
        }
        if (stopping) {
          rejectUpgrade(socket, problems.unavailable(1, 'This instance is shutting down; reconnect'), path);
          return;
        }
        const { admission, deadlineCapMs } = options.admission;
        const deadline = requestDeadline(req.headers[DEADLINE_HEADER], {
          now: Date.now(),
          capMs: deadlineCapMs,
          trusted: options.trustProxy.trusts(req.socket.remoteAddress ?? '', 0),
        });
        admission
          .admit(deadline, () => socket.destroyed)
          .then(
            (ticket) => {
              if (socket.destroyed) {
                ticket.release();
                return;
              }
              wss.handleUpgrade(req, socket, head, (ws) => {
                try {
                  onConnection(ws, req, ticket);
                } catch (error) {
                  ticket.release();
                  log.error({ err: error }, 'push connection setup failed');
                  ws.terminate();
                }
              });
            },
            (error: unknown) => {
              if (error instanceof Shed) {
                if (error.reason !== 'abandoned')
                  rejectUpgrade(
                    socket,
                    problems.unavailable(error.retryAfterSeconds, 'The push service is at capacity; reconnect after the time in Retry-After'),
                    path,
                  );
              } else {
                log.error({ err: error }, 'push admission failed');
                socket.destroy();
              }
            },
          );
      } catch (error) {
        log.error({ err: error }, 'push upgrade failed');
        if (socket.writable) rejectUpgrade(socket, problems.internal(), PUSH_PATH);
        else socket.destroy();
      }
    },

    deliver(memberId, notification) {
      const connections = registry.ofMember(memberId);
      if (connections.size === 0) return 0;
      const text = encodeFrame({ type: 'notification', notification });
      let delivered = 0;
      for (const conn of [...connections]) if (sendText(conn, text)) delivered++;
      return delivered;
    },

    deliverToRole(role, notification) {
      const text = encodeFrame({ type: 'notification', notification });
      let delivered = 0;
      for (const conn of [...all]) if (conn.state === 'open' && conn.session?.role === role && sendText(conn, text)) delivered++;
      return delivered;
    },

    revoke(sessionHash, reason) {
      recentlyRevoked.set(sessionHash, performance.now() + REVOKED_MEMORY_MS);
      for (const conn of [...registry.ofSession(sessionHash)]) close(conn, CLOSE.unauthenticated, `session revoked (${reason})`, 'revoked');
    },

    online: () => registry.counts(),

    async close(timeoutMs) {
      stopping = true;
      clearInterval(sweeper);
      if (all.size > 0) {
        const done = new Promise<void>((resolve) => {
          drained = resolve;
        });
        for (const conn of all) close(conn, CLOSE.goingAway, 'going away', 'shutdown');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
        // Clients that did not answer the close frame are cut off.
        for (const conn of all) conn.socket.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
