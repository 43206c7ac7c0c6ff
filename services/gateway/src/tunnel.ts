import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { problems } from '@evshare/kit';
import { badGateway, gatewayTimeout, lingerClose, rawProblem } from './answers';
import { POOL_TITLE, type Placement } from './exchange';
import { clientHead, fieldLines, type RequestFacts } from './headers';
import { ChunkedScanner, headEnd, HttpError, MAX_HEAD_BYTES, parseResponseHead, responseHasBody, type RequestHead, type ResponseHead } from './http1';
import type { StaticPool } from './pool';
import type { Upstream } from './upstream';

export interface TunnelSettings {
  upstreamTimeoutMs: number;
  idleTimeoutMs: number;
  retryAfterS: number;
}

/**
 * WebSocket (and any other upgrade) tunnels: the handshake goes to an upstream of a static pool,
 * and the two sockets are piped once it answered 101.
 */
export class Tunnels {
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly settings: TunnelSettings,
    private readonly events: Pick<Placement, 'ejected' | 'retried' | 'rejected'>,
  ) {}

  /** Opens a tunnel for a client socket detached from its HTTP connection (`rest`: bytes read after the head). */
  start(client: net.Socket, head: RequestHead, facts: RequestFacts, rest: Buffer | null, pool: StaticPool, hash: number): void {
    this.connect(client, head, facts, rest, pool, hash, undefined);
  }

  /** At shutdown: WebSocket clients reconnect through another gateway; waiting for them would never end. */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * Sends the handshake to an upstream and pipes the two sockets only once the upstream answered
   * 101: until then nothing the client sends goes on (bytes after the head would otherwise reach
   * the upstream as a second request if it refused the upgrade), and any other answer is relayed
   * as a plain HTTP answer that closes the connection.
   */
  private connect(
    client: net.Socket,
    head: RequestHead,
    facts: RequestFacts,
    rest: Buffer | null,
    pool: StaticPool,
    hash: number,
    exclude: Upstream | undefined,
  ): void {
    const settings = this.settings;
    const up = pool.pick(hash, exclude);
    if (!up) {
      this.events.rejected('no-upstream');
      rawProblem(
        client,
        problems.unavailable(settings.retryAfterS, `No ${POOL_TITLE[pool.members[0]?.pool ?? 'push']} instance is available`),
        facts.requestId,
      );
      return;
    }
    // Held until the 101 (the socket buffers and applies backpressure meanwhile).
    client.pause();
    const upstream = net.connect({ host: up.host, port: up.port, noDelay: true });
    const host = facts.hasHost ? '' : `Host: ${up.authority}\r\n`;
    upstream.write(`${head.method} ${up.prefix}${head.target} HTTP/1.1\r\n${host}${fieldLines(facts.headers)}\r\n`, 'latin1');
    let connected = false;
    let answered = 0;
    up.inflight++;
    this.sockets.add(client);
    const started = performance.now();
    let received: Buffer | null = null;
    const answer = (chunk: Buffer) => {
      received = received === null ? chunk : Buffer.concat([received, chunk]);
      const end = headEnd(received);
      if (end < 0) {
        if (received.length > MAX_HEAD_BYTES) refused(new HttpError(502, 'answer head too large'));
        return;
      }
      upstream.off('data', answer);
      let response: ResponseHead;
      try {
        response = parseResponseHead(received.toString('latin1', 0, end - 4));
      } catch (error) {
        refused(error instanceof HttpError ? error : new HttpError(502, String(error)));
        return;
      }
      answered = response.status;
      const after = received.subarray(end);
      if (response.status === 101) {
        // The handshake answer goes on as the upstream wrote it (its Upgrade and Connection fields).
        client.write(received.subarray(0, end));
        if (after.length > 0) client.write(after);
        if (rest !== null) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
        // Tunnel traffic goes through the client socket both ways, so its timeout is the tunnel's.
        client.setTimeout(settings.idleTimeoutMs, () => client.destroy());
        return;
      }
      relayRefusal(client, upstream, response, head.method, after);
    };
    const refused = (error: HttpError) => {
      upstream.off('data', answer);
      upstream.destroy();
      if (up.health.responded(502, Date.now())) this.events.ejected(up);
      answered = 502;
      rawProblem(client, badGateway(`${up.id}: ${error.message}`), facts.requestId);
    };
    upstream.once('connect', () => {
      connected = true;
    });
    upstream.on('data', answer);
    // A handshake the upstream never answers ends like any request that gets no answer.
    upstream.setTimeout(settings.upstreamTimeoutMs, () => {
      if (answered === 0) {
        answered = 504;
        upstream.destroy();
        rawProblem(client, gatewayTimeout(`${up.id} did not answer the upgrade within ${settings.upstreamTimeoutMs} ms`), facts.requestId);
      }
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      up.errors++;
      if (up.health.connectionFailed(error.code ?? error.message, Date.now())) this.events.ejected(up);
      if (exclude === undefined && !client.destroyed) {
        // A handshake that never reached an instance is safe to send to another one.
        this.events.retried();
        this.connect(client, head, facts, rest, pool, hash, up);
      } else {
        rawProblem(client, badGateway(`${up.id}: ${error.code ?? error.message}`), facts.requestId);
      }
    });
    upstream.once('close', () => {
      up.inflight--;
      up.record(connected ? answered || 502 : 502, (performance.now() - started) / 1000);
      if (answered === 101) client.destroy();
      else if (answered === 0 && connected) rawProblem(client, badGateway(`${up.id} closed the connection before answering the upgrade`), facts.requestId);
    });
    client.once('close', () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
  }
}

/**
 * The upstream answered the handshake with something other than 101: the answer goes to the
 * client as plain HTTP, framed as the upstream framed it, and both connections close after it.
 */
function relayRefusal(client: net.Socket, upstream: net.Socket, response: ResponseHead, method: string, after: Buffer): void {
  upstream.setTimeout(0);
  const finish = () => {
    upstream.destroy();
    lingerClose(client);
  };
  const hasBody = responseHasBody(method, response.status);
  client.write(`${clientHead(response.status, response.reason, response.fields)}\r\nConnection: close\r\n\r\n`, 'latin1');
  if (!hasBody || (!response.chunked && response.contentLength === 0)) {
    finish();
    return;
  }
  let left = response.chunked ? -1 : response.contentLength;
  const scanner = response.chunked ? new ChunkedScanner(502) : null;
  const pass = (chunk: Buffer) => {
    let end = chunk.length;
    try {
      if (scanner !== null) {
        const at = scanner.scan(chunk, 0, chunk.length);
        if (at >= 0) end = at;
      } else if (left >= 0) {
        end = Math.min(left, chunk.length);
        left -= end;
      }
    } catch {
      // Broken framing: the client must not see a complete-looking answer.
      upstream.destroy();
      client.destroy();
      return;
    }
    if (end > 0) client.write(end === chunk.length ? chunk : chunk.subarray(0, end));
    if (scanner?.done || left === 0) finish();
  };
  upstream.on('data', pass);
  upstream.once('end', () => lingerClose(client));
  if (after.length > 0) pass(after);
}
