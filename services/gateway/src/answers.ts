import http from 'node:http';
import type net from 'node:net';
import { Problem } from '@evshare/kit';
import type { ClientConnection, ClientExchange } from './client';

export const badGateway = (detail: string) => new Problem(502, 'bad-gateway', 'Bad gateway', detail);
export const gatewayTimeout = (detail: string) => new Problem(504, 'gateway-timeout', 'Gateway timeout', detail);

/** A request the gateway answers itself: any body is read and dropped. */
export class LocalExchange implements ClientExchange {
  closed = false;
  readonly acceptsBody = true;
  body(): void {}
  bodyEnd(): void {}
  clientClosed(): void {
    this.closed = true;
  }
  clientDrained(): void {}
}

/** An RFC 7807 answer on a client connection (with Retry-After when the problem has one). */
export function sendProblem(conn: ClientConnection, problem: Problem, requestId?: string, extraFields = ''): void {
  const body = JSON.stringify(problem.toJSON());
  const retryAfter = problem.extra.retryAfterSeconds;
  conn.respond(
    problem.status,
    http.STATUS_CODES[problem.status] ?? 'Error',
    `Content-Type: application/problem+json\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}${requestId ? `X-Request-Id: ${requestId}\r\n` : ''}${extraFields}`,
    body,
  );
}

/** How long a socket the gateway has ended may wait for the client's own close. */
const LINGER_MS = 1000;

/**
 * Ends a raw socket (its last answer written) so that it cannot linger: what the client still
 * sends is discarded, and a client that never closes its side is cut after LINGER_MS.
 */
export function lingerClose(socket: net.Socket): void {
  socket.end();
  socket.resume();
  socket.setTimeout(LINGER_MS, () => socket.destroy());
}

/** An RFC 7807 answer written on a raw socket that is no longer an HTTP connection. */
export function rawProblem(socket: net.Socket, problem: Problem, requestId: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problem.toJSON());
  const retryAfter = problem.extra.retryAfterSeconds === undefined ? '' : `Retry-After: ${problem.extra.retryAfterSeconds}\r\n`;
  socket.write(
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}${requestId ? `X-Request-Id: ${requestId}\r\n` : ''}Connection: close\r\n\r\n${body}`,
  );
  lingerClose(socket);
}
