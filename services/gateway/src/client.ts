import type net from 'node:net';
import { normalizeAddress } from '@evshare/kit';
import { ChunkedScanner, headEnd, HttpError, MAX_HEAD_BYTES, parseRequestHead, type RequestHead } from './http1';

/** What a client connection drives while one request is being answered. */
export interface ClientExchange {
  /** Body bytes can be handed over now; otherwise they wait in the connection's buffer. */
  readonly acceptsBody: boolean;
  body(chunk: Buffer): void;
  bodyEnd(): void;
  /** The client went away before the answer was complete. */
  clientClosed(): void;
  /** The client's socket took what was written after write() returned false. */
  clientDrained(): void;
}

export interface ClientLimits {
  /** A client idle between requests is closed after this (ms); longer than the upstream timeout. */
  keepAliveMs: number;
  /** A request head must arrive within this (ms) once started. */
  headersMs: number;
  /** A request body may pause at most this long (ms). */
  bodyIdleMs: number;
}

/**
 * Empty lines tolerated before a request line (RFC 9112 2.2 asks for at least one; some clients
 * send a CRLF after a body). More is a client holding the connection with nothing: refused.
 */
const MAX_EMPTY_LINES = 4;

/** Unread request bytes beyond this stop the socket reading (pipelined or not yet accepted bodies). */
const HIGH_WATER = 64 * 1024;

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

/** Body bytes up to this are copied behind the head into one buffer (see writeHead). */
const MERGE_LIMIT = 16 * 1024;

/**
 * One client TCP connection speaking HTTP/1.1: reads request heads and bodies, writes the
 * answers, keeps the connection alive between requests. One request at a time: a pipelined
 * request waits in the buffer until the previous answer is complete, so answers stay in order.
 */
export class ClientConnection {
  /** The peer address, normalized once per connection. */
  readonly address: string;
  exchange: ClientExchange | null = null;
  /** The gateway is stopping: close after the current answer. */
  draining = false;
  private buffer: Buffer | null = null;
  private bodyLeft = 0;
  private scanner: ChunkedScanner | null = null;
  private bodyDone = true;
  private keepAlive = true;
  private minor = 1;
  /** Runs from a request's first byte (empty lines included) until its head is complete. */
  private headTimer: NodeJS.Timeout | undefined = undefined;
  private emptyLines = 0;
  /** An answer's head was given (writeHead) and its end not yet (end). */
  private answering = false;
  private paused = false;
  private pumping = false;
  private ended = false;
  private finished = false;
  private timeoutMs = -1;
  /** An answer's head not written yet (see writeHead). */
  private pendingHead: string | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly limits: ClientLimits,
    private readonly onRequest: (conn: ClientConnection, head: RequestHead) => void,
    private readonly onGone: (conn: ClientConnection) => void,
  ) {
    this.address = normalizeAddress(socket.remoteAddress ?? '');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => this.clientEnded());
    socket.on('close', () => this.closed());
    socket.on('error', () => {});
    socket.on('timeout', () => this.timedOut());
    socket.on('drain', () => this.exchange?.clientDrained());
    this.setTimeout(limits.keepAliveMs);
  }

  /** No request in progress and nothing buffered: safe to close at shutdown. */
  get idle(): boolean {
    return this.exchange === null && this.buffer === null;
  }

  get httpMinor(): number {
    return this.minor;
  }

  // ------------------------------------------------------------------ reading

  private received(chunk: Buffer): void {
    if (this.finished) return;
    this.buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    this.pump();
    if (this.buffer !== null && this.buffer.length > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Parses and hands over as much as the current state allows. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.buffer !== null && !this.finished) {
        if (this.exchange !== null) {
          if (this.bodyDone || !this.exchange.acceptsBody) return;
          this.readBody();
          continue;
        }
        if (!this.readHead()) return;
      }
      if (this.paused && !this.finished) {
        this.paused = false;
        this.socket.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Reads one request head and starts its exchange; false when more bytes are needed. */
  private readHead(): boolean {
    let buffer = this.buffer!;
    // A CRLF left between requests (some clients add one after a body) is ignored (RFC 9112 2.2).
    let start = 0;
    while (start + 1 < buffer.length && buffer[start] === 13 && buffer[start + 1] === 10) {
      start += 2;
      if (++this.emptyLines > MAX_EMPTY_LINES) {
        this.refuse(new HttpError(400, 'too many empty lines before the request line'));
        return false;
      }
    }
    if (start > 0) {
      if (start === buffer.length) {
        this.buffer = null;
        this.headStarted();
        return false;
      }
      buffer = this.buffer = buffer.subarray(start);
    }
    const end = headEnd(buffer);
    if (end < 0 || end > MAX_HEAD_BYTES) {
      if (buffer.length > MAX_HEAD_BYTES) this.refuse(new HttpError(431, 'request head too large'));
      else this.headStarted();
      return false;
    }
    const text = buffer.toString('latin1', 0, end - 4);
    this.buffer = end < buffer.length ? buffer.subarray(end) : null;
    if (this.headTimer !== undefined) {
      clearTimeout(this.headTimer);
      this.headTimer = undefined;
    }
    this.emptyLines = 0;
    let head: RequestHead;
    try {
      head = parseRequestHead(text);
    } catch (error) {
      if (error instanceof HttpError) {
        this.refuse(error);
        return false;
      }
      throw error;
    }
    this.minor = head.minor;
    this.keepAlive = head.keepAlive && !this.draining;
    this.bodyLeft = head.contentLength > 0 ? head.contentLength : 0;
    this.scanner = head.chunked ? new ChunkedScanner(400) : null;
    this.bodyDone = this.bodyLeft === 0 && this.scanner === null;
    // While an answer is awaited the keep-alive timeout stays armed (it is longer than the
    // upstream timeout), which saves re-arming a timer twice per request.
    this.setTimeout(this.bodyDone ? this.limits.keepAliveMs : this.limits.bodyIdleMs);
    if (head.expectContinue && !this.bodyDone) this.socket.write(CONTINUE, 'latin1');
    this.onRequest(this, head);
    return true;
  }

  /**
   * A head has begun but is not complete: it must be complete within headersMs of its first
   * byte, however slowly it trickles in (HAProxy's `timeout http-request`). The timer exists only
   * for heads that do not arrive in one read, so the common request arms none.
   */
  private headStarted(): void {
    if (this.headTimer !== undefined || this.finished) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      if (!this.finished && this.exchange === null) this.refuse(new HttpError(408, 'request head not complete in time'));
    }, this.limits.headersMs);
  }

  private readBody(): void {
    const exchange = this.exchange!;
    const buffer = this.buffer!;
    let end = buffer.length;
    let complete = false;
    if (this.scanner !== null) {
      let at: number;
      try {
        at = this.scanner.scan(buffer, 0, buffer.length);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        this.buffer = null;
        if (this.pendingHead !== null || this.answering) {
          // Part of an answer is out: only a cut connection cannot be taken for a complete one.
          this.abort();
          return;
        }
        // The upstream got an unfinished request: it is dropped, and the client told why.
        this.exchange = null;
        exchange.clientClosed();
        this.refuse(error);
        return;
      }
      if (at >= 0) {
        end = at;
        complete = true;
      }
    } else {
      end = Math.min(this.bodyLeft, buffer.length);
      this.bodyLeft -= end;
      complete = this.bodyLeft === 0;
    }
    this.buffer = end === buffer.length ? null : buffer.subarray(end);
    if (end > 0) exchange.body(end === buffer.length ? buffer : buffer.subarray(0, end));
    if (complete && this.exchange === exchange) {
      this.bodyDone = true;
      this.setTimeout(this.limits.keepAliveMs);
      exchange.bodyEnd();
    }
  }

  /** Body bytes may be accepted again (the exchange got its upstream, or it drained). */
  resumeBody(): void {
    if (this.buffer !== null) this.pump();
    if (this.paused && (this.buffer === null || this.buffer.length <= HIGH_WATER)) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Stops reading while the upstream cannot take more of the body. */
  pauseBody(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  // ------------------------------------------------------------------ writing

  /**
   * Starts the answer: `head` is the status line and fields without the final blank line. The head
   * is held until the first body bytes (or the end) so that both leave in one write: one
   * syscall and one TCP segment per small answer.
   */
  writeHead(head: string, mustClose: boolean): void {
    this.answering = true;
    // A body the client is still sending cannot be skipped reliably: the connection ends here.
    if (mustClose || !this.bodyDone || this.draining || this.ended) this.keepAlive = false;
    const connection = !this.keepAlive ? 'Connection: close\r\n\r\n' : this.minor === 0 ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
    this.pendingHead = `${head}\r\n${connection}`;
  }

  /** Writes answer bytes; false means the client is slow: wait for clientDrained(). */
  write(chunk: Buffer): boolean {
    const head = this.pendingHead;
    if (head === null) return this.socket.write(chunk);
    this.pendingHead = null;
    if (chunk.length > MERGE_LIMIT) {
      this.socket.write(head, 'latin1');
      return this.socket.write(chunk);
    }
    // The head is latin1 (one byte per character, as parsed and validated).
    const merged = Buffer.allocUnsafe(head.length + chunk.length);
    merged.write(head, 0, 'latin1');
    chunk.copy(merged, head.length);
    return this.socket.write(merged);
  }

  /** The answer is complete: keep the connection for the next request, or close it. */
  end(): void {
    if (this.pendingHead !== null) {
      this.socket.write(this.pendingHead, 'latin1');
      this.pendingHead = null;
    }
    this.answering = false;
    this.exchange = null;
    if (!this.keepAlive || this.finished || this.ended) {
      this.finish();
      return;
    }
    this.setTimeout(this.limits.keepAliveMs);
    if (this.buffer !== null || this.paused) this.resumeBody();
  }

  /**
   * A whole answer made by the gateway itself. `fields` are complete lines, each ending in CRLF;
   * `headOnly` answers a HEAD request (the length of the body that a GET would get, no body).
   */
  respond(status: number, reason: string, fields: string, body: string | Buffer, mustClose = false, headOnly = false): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.writeHead(`HTTP/1.1 ${status} ${reason}\r\n${fields}Content-Length: ${bytes.length}`, mustClose);
    if (bytes.length > 0 && !headOnly) this.write(bytes);
    this.end();
  }

  /** Ends the connection abruptly (an answer broken off half-way must not look complete). */
  abort(): void {
    this.pendingHead = null;
    this.finished = true;
    this.socket.destroy();
  }

  /** Takes the socket out of HTTP processing (a tunnel); returns the bytes read past the head. */
  detach(): Buffer | null {
    this.finished = true;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('timeout');
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('drain');
    this.socket.setTimeout(0);
    const rest = this.buffer;
    this.buffer = null;
    this.exchange = null;
    if (this.paused) this.socket.resume();
    return rest;
  }

  /** Closes after the current answer, or now when idle (shutdown). */
  drain(): void {
    this.draining = true;
    if (this.idle) this.finish();
  }

  // ------------------------------------------------------------------ lifecycle

  private refuse(error: HttpError): void {
    this.buffer = null;
    const body = JSON.stringify({ type: 'urn:evshare:problem:bad-request', title: 'Bad request', status: error.status, detail: error.message });
    this.exchange = null;
    this.respond(error.status, STATUS_TEXT[error.status] ?? 'Bad Request', 'Content-Type: application/problem+json\r\n', body, true);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.headTimer);
    this.buffer = null;
    this.socket.end();
    // A client that never closes its side must not hold the socket.
    this.socket.setTimeout(this.limits.headersMs);
  }

  /** The client closed its side. As Node's HTTP server does by default, that abandons a request in progress. */
  private clientEnded(): void {
    this.ended = true;
    if (this.exchange === null) this.finish();
    else this.abort();
  }

  private timedOut(): void {
    if (this.finished || this.exchange !== null) {
      this.socket.destroy();
    } else if (this.buffer !== null) {
      this.refuse(new HttpError(408, 'request head too slow'));
    } else {
      this.finish();
    }
  }

  private closed(): void {
    this.finished = true;
    clearTimeout(this.headTimer);
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.clientClosed();
    this.onGone(this);
  }

  private setTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};
