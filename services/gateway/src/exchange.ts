import { performance } from 'node:perf_hooks';
import { type Logger, type Problem, problems } from '@evshare/kit';
import { badGateway, gatewayTimeout, sendProblem } from './answers';
import type { ClientConnection, ClientExchange } from './client';
import { clientHead, type RequestFacts } from './headers';
import { ChunkedScanner, HttpError, type RequestHead, type ResponseHead } from './http1';
import { ALL_BUSY } from './ring';
import type { PoolName, Upstream } from './upstream';
import { Framing, type UpstreamConnection, type UpstreamExchange } from './upstream-conn';

/** Methods that may be sent twice (RFC 9110 9.2.2), so a request that never got an answer can be retried. */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

export const POOL_TITLE: Record<PoolName, string> = { app: 'APP', auth: 'authentication', push: 'push', charging: 'charging', web: 'web' };

const RETRY_AFTER = /^retry-after:/im;

/** Idle keep-alive connections kept per upstream. */
const MAX_IDLE_PER_UPSTREAM = 512;

/**
 * What an exchange asks of the balancer: where an attempt goes, waiting for room, and the events
 * the balancer counts or acts on. The decisions about one request (retry, answer, give up) are
 * the exchange's own.
 */
export interface Placement {
  /** An upstream for the attempt, ALL_BUSY when every candidate is at its limit, undefined when none is available. */
  choose(pool: PoolName, hash: number, exclude: Upstream | undefined): Upstream | typeof ALL_BUSY | undefined;
  /** Holds the exchange until an instance has room (then calls place()), or answers it 503. */
  wait(ex: Exchange): void;
  /** The client of a waiting exchange went away. */
  leave(ex: Exchange): void;
  /** An attempt on `up` ended after `heldMs`: room for a waiting request. */
  released(up: Upstream, heldMs: number): void;
  /** Real traffic took `up` down. */
  ejected(up: Upstream): void;
  retried(): void;
  rejected(reason: string): void;
}

/** Fixed for the gateway's life: one object shared by every exchange. */
export interface ExchangeEnv {
  placement: Placement;
  log: Logger;
  upstreamTimeoutMs: number;
  retryAfterS: number;
}

/**
 * One proxied request: the client's side (request body in, answer out), the upstream
 * connection carrying the current attempt, and the decisions between them: which failure is
 * retried, which answer the client gets (one allocation per request).
 */
export class Exchange implements ClientExchange, UpstreamExchange {
  upstream: Upstream | undefined = undefined;
  /** The upstream that already failed this request, skipped by the retry. */
  exclude: Upstream | undefined = undefined;
  conn: UpstreamConnection | null = null;
  /** The body, buffered, for a retry-eligible request that has one; null when streamed. */
  parts: Buffer[] | null = null;
  bodyComplete: boolean;
  /** The whole request went to the current upstream connection. */
  requestSent = false;
  attempts = 0;
  sentAt = 0;
  status = 0;
  responded = false;
  /** Waiting in the admission queue (the placement's to set and clear). */
  queued = false;
  queueTimer: NodeJS.Timeout | undefined = undefined;
  /** Answered, failed or abandoned: nothing more is sent to the client. */
  done = false;
  /** De-chunks the answer for an HTTP/1.0 client. */
  dechunk: ChunkedScanner | null = null;
  readonly retryable: boolean;
  private readonly hasBody: boolean;

  constructor(
    private readonly env: ExchangeEnv,
    readonly client: ClientConnection,
    readonly head: RequestHead,
    readonly facts: RequestFacts,
    /** The request's header lines for the upstream, each ending in CRLF. */
    readonly fields: string,
    readonly pool: PoolName,
    readonly hash: number,
    retryBodyLimit: number,
    /** Epoch ms after which the answer is of no use (sent upstream as X-Request-Deadline). */
    readonly deadline: number,
  ) {
    this.hasBody = head.chunked || head.contentLength > 0;
    this.retryable = (IDEMPOTENT.has(head.method) || facts.idempotencyKey) && (!this.hasBody || (!head.chunked && head.contentLength <= retryBodyLimit));
    this.bodyComplete = !this.hasBody;
  }

  /** Places the request now, or once its body is buffered when a retry may need to send it again. */
  start(): void {
    if (this.retryable && this.hasBody) {
      // Buffered (at most RETRY_BODY_LIMIT) so that it can be sent a second time; placed at its end.
      this.parts = [];
      return;
    }
    this.place();
  }

  /** Chooses the upstream for an attempt (first, retry, or out of the queue). */
  place(): void {
    if (this.done) return;
    const choice = this.env.placement.choose(this.pool, this.hash, this.exclude);
    if (choice === ALL_BUSY) {
      this.env.placement.wait(this);
    } else if (choice !== undefined) {
      this.send(choice);
    } else if (this.attempts > 0) {
      this.reply(badGateway(`${this.exclude?.id ?? 'the upstream'} failed and no other ${POOL_TITLE[this.pool]} instance is available`));
    } else {
      this.reject('no-upstream', `No ${POOL_TITLE[this.pool]} instance is available`);
    }
  }

  /** A 503 with Retry-After (the queue's own, from its drain time, or the fixed one), counted as a rejection. */
  reject(reason: string, detail: string, retryAfterS = this.env.retryAfterS): void {
    this.env.placement.rejected(reason);
    this.reply(problems.unavailable(retryAfterS, detail));
  }

  reply(problem: Problem): void {
    if (this.done) return;
    this.done = true;
    sendProblem(this.client, problem, this.facts.requestId);
  }

  private send(up: Upstream): void {
    this.upstream = up;
    this.attempts++;
    this.responded = false;
    up.inflight++;
    this.sentAt = performance.now();
    const conn = up.connections.acquire(this.env.upstreamTimeoutMs);
    this.conn = conn;
    const host = this.facts.hasHost ? '' : `Host: ${up.authority}\r\n`;
    conn.send(this, this.head.method, `${this.head.method} ${up.prefix}${this.head.target} HTTP/1.1\r\n${host}${this.fields}\r\n`, this.parts);
    if (this.bodyComplete) {
      this.requestSent = true;
    } else {
      // A streamed body flows from now on.
      this.client.resumeBody();
    }
  }

  /** The end of one attempt on one upstream: exactly once per send(). */
  private endAttempt(status: number): void {
    const up = this.upstream;
    if (!up) return;
    this.upstream = undefined;
    up.inflight--;
    const heldMs = performance.now() - this.sentAt;
    up.record(status, heldMs / 1000);
    if (up.removed && up.inflight === 0) up.close();
    this.env.placement.released(up, heldMs);
  }

  // ------------------------------------------------------------ the client's side

  get acceptsBody(): boolean {
    return this.parts !== null || this.conn !== null;
  }

  body(chunk: Buffer): void {
    if (this.parts !== null) this.parts.push(chunk);
    else if (this.conn !== null && !this.conn.write(chunk)) this.client.pauseBody();
  }

  bodyEnd(): void {
    this.bodyComplete = true;
    if (this.parts !== null) this.place();
    else if (this.conn !== null) this.requestSent = true;
  }

  clientClosed(): void {
    if (this.done) return;
    this.done = true;
    if (this.queued) {
      this.env.placement.leave(this);
      return;
    }
    this.conn?.destroy();
    this.conn = null;
    // 499: nginx's "client closed request", for a client that left before an answer.
    this.endAttempt(this.responded ? this.status : 499);
  }

  clientDrained(): void {
    this.conn?.resume();
  }

  // ------------------------------------------------------------ the upstream's side

  responseHead(head: ResponseHead, framing: Framing): void {
    const up = this.upstream!;
    this.responded = true;
    this.status = head.status;
    const now = Date.now();
    up.lastAnsweredAt = now;
    // A 503 with Retry-After is an instance shedding load it cannot serve in time, not a failing one.
    const shed = head.status === 503 && RETRY_AFTER.test(head.fields);
    if (up.health.responded(head.status, now, shed)) this.env.placement.ejected(up);
    if (this.done) return;
    let mustClose = framing === Framing.Close;
    const dechunk = framing === Framing.Chunked && this.client.httpMinor === 0;
    if (dechunk) {
      const client = this.client;
      this.dechunk = new ChunkedScanner(502, (buffer, from, to) => client.write(buffer.subarray(from, to)));
      mustClose = true;
    }
    this.client.writeHead(clientHead(head.status, head.reason, head.fields, dechunk), mustClose);
  }

  responseBody(buffer: Buffer, from: number, to: number): void {
    if (this.done) return;
    if (this.dechunk !== null) {
      this.dechunk.scan(buffer, from, to);
      return;
    }
    const chunk = from === 0 && to === buffer.length ? buffer : buffer.subarray(from, to);
    if (!this.client.write(chunk)) this.conn?.pause();
  }

  responseEnd(reusable: boolean): void {
    const conn = this.conn;
    this.conn = null;
    conn?.release(reusable && this.requestSent, MAX_IDLE_PER_UPSTREAM);
    if (this.done) return;
    this.done = true;
    this.endAttempt(this.status);
    this.client.end();
  }

  upstreamFailed(error: NodeJS.ErrnoException, started: boolean): void {
    const conn = this.conn;
    this.conn = null;
    const up = this.upstream;
    if (this.done || !up || !conn) return;
    up.errors++;
    if (this.responded) {
      // Broken off mid-answer: the client must see a broken response, not a short one.
      this.done = true;
      this.endAttempt(this.status);
      this.client.abort();
      return;
    }
    const code = error.code ?? error.message;
    const now = Date.now();
    if (error instanceof HttpError || started) {
      // The instance answered, wrongly: a server error, not a connection failure; never replayed.
      if (up.health.responded(502, now)) this.env.placement.ejected(up);
      this.endAttempt(502);
      this.reply(badGateway(`${up.id}: ${error.message}`));
      return;
    }
    // A reset on a reused keep-alive connection can be the server closing an idle connection just
    // as we sent on it; a failed fresh connection means the instance is not there.
    if ((!conn.reused || code === 'ECONNREFUSED') && up.health.connectionFailed(code, now)) this.env.placement.ejected(up);
    this.endAttempt(502);
    if (this.retryable && this.attempts === 1) {
      this.env.placement.retried();
      this.exclude = up;
      this.env.log.debug({ upstream: up.id, code, requestId: this.facts.requestId }, 'retrying on another instance');
      this.place();
      return;
    }
    this.env.log.warn({ upstream: up.id, code, requestId: this.facts.requestId, method: this.head.method, target: this.head.target }, 'upstream failed');
    this.reply(badGateway(`${up.id}: ${code}`));
  }

  upstreamTimedOut(): void {
    this.conn = null;
    const up = this.upstream;
    if (this.done || !up) return;
    up.errors++;
    if (this.responded) {
      this.done = true;
      this.endAttempt(this.status);
      this.client.abort();
      return;
    }
    this.endAttempt(504);
    this.reply(gatewayTimeout(`${up.id} did not answer within ${this.env.upstreamTimeoutMs} ms`));
  }

  upstreamDrained(): void {
    this.client.resumeBody();
  }
}
