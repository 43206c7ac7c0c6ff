import net from 'node:net';
import { ChunkedScanner, headEnd, HttpError, MAX_HEAD_BYTES, parseResponseHead, responseHasBody, type ResponseHead } from './http1';

/** How the body of an upstream answer is delimited. */
export enum Framing {
  None,
  Length,
  Chunked,
  /** No length and not chunked: the body ends when the upstream closes (HTTP/1.0 style). */
  Close,
}

/** What an upstream connection drives while it carries one request. */
export interface UpstreamExchange {
  responseHead(head: ResponseHead, framing: Framing): void;
  responseBody(buffer: Buffer, from: number, to: number): void;
  /** The answer is complete; `reusable` when the connection may carry another request. */
  responseEnd(reusable: boolean): void;
  /** The connection failed; `started` when part of the answer was already received. */
  upstreamFailed(error: NodeJS.ErrnoException, started: boolean): void;
  /** No byte from the upstream for UPSTREAM_TIMEOUT_MS. */
  upstreamTimedOut(): void;
  /** The upstream took the request body written after write() returned false. */
  upstreamDrained(): void;
}

const enum State {
  Idle,
  Head,
  Body,
}

/**
 * The keep-alive connections to one upstream address (each upstream owns one): the idle ones in
 * LIFO order, so the warmest are reused and the rest time out, and every open one.
 */
export class ConnectionPool {
  /** Idle keep-alive connections, most recently used last. */
  readonly idle: UpstreamConnection[] = [];
  /** Every open connection, idle or busy. */
  readonly open = new Set<UpstreamConnection>();
  /** No connection goes back to the pool any more (its upstream was removed). */
  retired = false;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** A pooled connection, or a new one. */
  acquire(timeoutMs: number): UpstreamConnection {
    const pooled = this.idle.pop();
    if (pooled !== undefined) {
      pooled.reused = true;
      return pooled;
    }
    return new UpstreamConnection(this, timeoutMs);
  }

  /**
   * Closes pooled connections idle for longer than `idleMs`, the oldest first (they sit at the
   * bottom of the LIFO pool). Keeping this below the upstream's own keep-alive timeout avoids
   * sending a request on a connection the server is closing.
   */
  sweepIdle(idleMs: number, now: number): void {
    const idle = this.idle;
    let stale = 0;
    while (stale < idle.length && now - idle[stale]!.idleSince > idleMs) stale++;
    if (stale === 0) return;
    for (const connection of idle.splice(0, stale)) connection.destroy();
  }

  /** Retires the pool and closes every connection, busy ones included. */
  close(): void {
    this.retired = true;
    for (const connection of this.open) connection.destroy();
  }
}

/** One keep-alive TCP connection to an upstream, carrying one request at a time. */
export class UpstreamConnection {
  readonly socket: net.Socket;
  /** Taken from the pool (it carried a request before): a reset may just mean the server closed it. */
  reused = false;
  private exchange: UpstreamExchange | null = null;
  private state = State.Idle;
  private method = 'GET';
  private buffer: Buffer | null = null;
  private framing = Framing.None;
  private bodyLeft = 0;
  private scanner: ChunkedScanner | null = null;
  private started = false;
  private keepAlive = false;
  private error: NodeJS.ErrnoException | undefined;

  /** When it went back to the pool (Date.now()), for the idle sweep. */
  idleSince = 0;

  constructor(
    private readonly pool: ConnectionPool,
    timeoutMs: number,
  ) {
    this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true });
    // One inactivity timeout for the connection's whole life: re-arming a timer per request costs
    // more than the request's own parsing. Idle connections are closed by sweepIdle() instead.
    this.socket.setTimeout(timeoutMs);
    pool.open.add(this);
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', (error: NodeJS.ErrnoException) => (this.error ??= error));
    this.socket.on('close', () => this.closed());
    this.socket.on('timeout', () => this.timedOut());
    this.socket.on('drain', () => this.exchange?.upstreamDrained());
  }

  /** Sends a request head (complete, with its blank line) and, when known, its whole body. */
  send(exchange: UpstreamExchange, method: string, head: string, body: Buffer[] | null): void {
    this.exchange = exchange;
    this.method = method;
    this.state = State.Head;
    this.started = false;
    this.error = undefined;
    if (body === null || body.length === 0) {
      this.socket.write(head, 'latin1');
      return;
    }
    this.socket.cork();
    this.socket.write(head, 'latin1');
    for (const part of body) this.socket.write(part);
    this.socket.uncork();
  }

  /** Writes request body bytes; false means wait for upstreamDrained(). */
  write(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Back to the pool after a complete exchange, or closed. */
  release(reusable: boolean, maxIdle: number): void {
    this.exchange = null;
    this.state = State.Idle;
    this.socket.resume();
    if (!reusable || this.pool.retired || this.pool.idle.length >= maxIdle || this.socket.destroyed) {
      this.destroy();
      return;
    }
    this.idleSince = Date.now();
    this.pool.idle.push(this);
  }

  destroy(): void {
    this.exchange = null;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    const exchange = this.exchange;
    // Bytes nobody asked for (or after a complete answer): the connection is out of step.
    if (exchange === null) {
      this.socket.destroy();
      return;
    }
    this.buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    this.process(exchange);
  }

  private process(exchange: UpstreamExchange): void {
    while (this.buffer !== null && this.exchange === exchange) {
      const buffer = this.buffer;
      if (this.state === State.Head) {
        const end = headEnd(buffer);
        if (end < 0 || end > MAX_HEAD_BYTES) {
          if (buffer.length > MAX_HEAD_BYTES) this.fail(exchange, new HttpError(502, 'response head too large'));
          return;
        }
        let head: ResponseHead;
        try {
          head = parseResponseHead(buffer.toString('latin1', 0, end - 4));
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          this.fail(exchange, error);
          return;
        }
        this.buffer = end < buffer.length ? buffer.subarray(end) : null;
        this.started = true;
        if (head.status < 200) {
          // 100 Continue (the gateway sent its own) and 103 Early Hints are dropped; 101 has no
          // place on a pooled connection (upgrades are tunnelled on their own).
          if (head.status === 101) this.fail(exchange, new HttpError(502, 'unexpected 101 from the upstream'));
          continue;
        }
        this.keepAlive = head.keepAlive;
        this.framing = !responseHasBody(this.method, head.status)
          ? Framing.None
          : head.chunked
            ? Framing.Chunked
            : head.contentLength >= 0
              ? Framing.Length
              : Framing.Close;
        this.bodyLeft = head.contentLength;
        this.scanner = this.framing === Framing.Chunked ? new ChunkedScanner(502) : null;
        this.state = State.Body;
        exchange.responseHead(head, this.framing);
        if (this.framing === Framing.None || (this.framing === Framing.Length && this.bodyLeft === 0)) this.complete(exchange);
        continue;
      }
      // Body.
      let end = buffer.length;
      let complete = false;
      if (this.framing === Framing.Length) {
        end = Math.min(this.bodyLeft, buffer.length);
        this.bodyLeft -= end;
        complete = this.bodyLeft === 0;
      } else if (this.framing === Framing.Chunked) {
        let at: number;
        try {
          at = this.scanner!.scan(buffer, 0, buffer.length);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          this.fail(exchange, error);
          return;
        }
        if (at >= 0) {
          end = at;
          complete = true;
        }
      }
      this.buffer = end < buffer.length ? buffer.subarray(end) : null;
      if (end > 0) exchange.responseBody(buffer, 0, end);
      if (complete && this.exchange === exchange) this.complete(exchange);
    }
  }

  private complete(exchange: UpstreamExchange): void {
    // Anything after a complete answer means the two sides disagree on framing: do not reuse.
    const reusable = this.keepAlive && this.buffer === null;
    this.buffer = null;
    this.exchange = null;
    this.state = State.Idle;
    exchange.responseEnd(reusable);
  }

  private fail(exchange: UpstreamExchange, error: NodeJS.ErrnoException): void {
    this.exchange = null;
    this.buffer = null;
    this.socket.destroy();
    exchange.upstreamFailed(error, this.started);
  }

  private closed(): void {
    this.pool.open.delete(this);
    const idleAt = this.pool.idle.indexOf(this);
    if (idleAt >= 0) this.pool.idle.splice(idleAt, 1);
    const exchange = this.exchange;
    if (exchange === null) return;
    this.exchange = null;
    if (this.state === State.Body && this.framing === Framing.Close) {
      this.buffer = null;
      this.state = State.Idle;
      exchange.responseEnd(false);
      return;
    }
    const error = this.error ?? Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' });
    exchange.upstreamFailed(error, this.started);
  }

  private timedOut(): void {
    const exchange = this.exchange;
    this.exchange = null;
    this.socket.destroy();
    exchange?.upstreamTimedOut();
  }
}
