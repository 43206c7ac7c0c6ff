import { randomUUID } from 'node:crypto';
import { normalizeAddress, type TrustProxy } from '@evshare/kit';
import { forwardedChain } from './trust';

/**
 * What one pass over a request's raw headers tells the proxy, plus the header list to send
 * upstream. Pure; works on `req.rawHeaders` (a flat [name, value, ...] list) because reading
 * `req.headers` makes Node build a second, lower-cased object per request.
 */
export interface RequestFacts {
  /** The client address used for stickiness, X-Forwarded-For and the session record. */
  client: string;
  /** Flat [name, value, ...] list for the upstream request. */
  headers: string[];
  requestId: string;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
  chunked: boolean;
  idempotencyKey: boolean;
  /** The client sent a Host field (an HTTP/1.0 client may not; the upstream needs one). */
  hasHost: boolean;
  /** X-Request-Timeout as sent (its values joined when repeated), never forwarded: the gateway sends a deadline instead. */
  timeout: string | undefined;
  /** X-Request-Deadline from a trusted proxy in front; from anyone else it is dropped. */
  deadline: string | undefined;
}

export interface ForwardOptions {
  /** The peer address of the client's TCP connection. */
  socketAddress: string;
  /** Which hops in front may report the client (TRUST_PROXY). */
  trust: TrustProxy;
  /** Keep Connection/Upgrade (a WebSocket handshake passed through). */
  upgrade: boolean;
}

const enum Kind {
  HopByHop,
  Connection,
  Upgrade,
  TransferEncoding,
  ContentLength,
  ForwardedFor,
  ForwardedProto,
  ForwardedHost,
  Forwarded,
  RealIp,
  RequestId,
  IdempotencyKey,
  Host,
  RequestTimeout,
  RequestDeadline,
}

/** `name` equals `lower` (a lower-case literal) ignoring ASCII case, without a lower-cased copy. */
function sameLower(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * The fields the proxy handles itself; everything else passes unchanged. Sorted by name length
 * first, so most fields (Accept, Cookie, User-Agent...) are passed after one or two comparisons.
 */
function kindOf(name: string): Kind | undefined {
  switch (name.length) {
    case 2:
      return sameLower(name, 'te') ? Kind.HopByHop : undefined;
    case 4:
      return sameLower(name, 'host') ? Kind.Host : undefined;
    case 6:
      // The gateway answers 100 Continue itself and sends the body on.
      return sameLower(name, 'expect') ? Kind.HopByHop : undefined;
    case 7:
      return sameLower(name, 'upgrade') ? Kind.Upgrade : sameLower(name, 'trailer') ? Kind.HopByHop : undefined;
    case 9:
      return sameLower(name, 'forwarded') ? Kind.Forwarded : sameLower(name, 'x-real-ip') ? Kind.RealIp : undefined;
    case 10:
      return sameLower(name, 'connection') ? Kind.Connection : sameLower(name, 'keep-alive') ? Kind.HopByHop : undefined;
    case 12:
      return sameLower(name, 'x-request-id') ? Kind.RequestId : undefined;
    case 14:
      return sameLower(name, 'content-length') ? Kind.ContentLength : undefined;
    case 15:
      return sameLower(name, 'x-forwarded-for') ? Kind.ForwardedFor : sameLower(name, 'idempotency-key') ? Kind.IdempotencyKey : undefined;
    case 16:
      return sameLower(name, 'x-forwarded-host') ? Kind.ForwardedHost : sameLower(name, 'proxy-connection') ? Kind.HopByHop : undefined;
    case 17:
      // Transfer-Encoding and Content-Length are written anew from the parsed framing.
      return sameLower(name, 'x-forwarded-proto')
        ? Kind.ForwardedProto
        : sameLower(name, 'transfer-encoding')
          ? Kind.TransferEncoding
          : sameLower(name, 'x-request-timeout')
            ? Kind.RequestTimeout
            : undefined;
    case 18:
      return sameLower(name, 'x-request-deadline') ? Kind.RequestDeadline : undefined;
    case 19:
      return sameLower(name, 'proxy-authorization') ? Kind.HopByHop : undefined;
    default:
      return undefined;
  }
}

/** Tokens of a Connection header that do not name another header to strip. */
const CONNECTION_OPTIONS = new Set(['keep-alive', 'close', 'upgrade']);

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Header names listed in a Connection header (hop-by-hop by declaration, RFC 9110 7.6.1). */
function connectionListed(value: string): string[] {
  const names: string[] = [];
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && !CONNECTION_OPTIONS.has(name)) names.push(name);
  }
  return names;
}

function without(headers: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.includes(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/**
 * Builds the upstream request headers: hop-by-hop headers stripped (and whatever Connection
 * names), the framing written from what the parser read, X-Forwarded-For/-Proto/-Host set from
 * what the gateway saw (client-sent values are dropped unless the peer is a trusted proxy: a
 * forged X-Forwarded-For would move a client's stickiness and recorded address, and the services
 * behind trust it), X-Request-Id kept when well-formed, else generated.
 */
export function forwardRequestHeaders(raw: readonly string[], options: ForwardOptions): RequestFacts {
  const socketAddress = normalizeAddress(options.socketAddress);
  // Only the peer's own trust decides whether its Forwarded fields are read at all.
  const trust = !options.trust.none && options.trust.trusts(socketAddress, 0);
  const headers: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  let requestId: string | undefined;
  let connection: string | undefined;
  let upgrade: string | undefined;
  let contentLength = -1;
  let chunked = false;
  let idempotencyKey = false;
  let timeout: string | undefined;
  let deadline: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const kind = kindOf(name);
    switch (kind) {
      case undefined:
        headers.push(name, value);
        break;
      case Kind.HopByHop:
        break;
      case Kind.Connection:
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case Kind.Upgrade:
        upgrade = value;
        break;
      // The framing is written below from what the parser read, never copied (item: smuggling).
      case Kind.TransferEncoding:
        chunked = true;
        break;
      case Kind.ContentLength:
        contentLength = Number(value);
        break;
      case Kind.ForwardedFor:
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case Kind.ForwardedProto:
        forwardedProto = value;
        break;
      case Kind.ForwardedHost:
        forwardedHost = value;
        break;
      case Kind.Forwarded:
      case Kind.RealIp:
        if (trust) headers.push(name, value);
        break;
      case Kind.RequestId:
        requestId = value;
        break;
      case Kind.IdempotencyKey:
        idempotencyKey = true;
        headers.push(name, value);
        break;
      case Kind.Host:
        host = value;
        headers.push(name, value);
        break;
      case Kind.RequestTimeout:
        timeout = timeout === undefined ? value : `${timeout},${value}`;
        break;
      case Kind.RequestDeadline:
        if (trust) deadline = deadline === undefined ? value : `${deadline},${value}`;
        break;
    }
  }
  // Fields the client's Connection names go before the gateway adds its own: the parser refused
  // any Connection token naming a framing, routing or identity field (http1.ts), and whatever
  // else it names is the client's own field, dropped here.
  const listed = connection === undefined ? [] : connectionListed(connection);
  const out = listed.length === 0 ? headers : without(headers, listed);
  if (chunked) out.push('Transfer-Encoding', 'chunked');
  else if (contentLength >= 0) out.push('Content-Length', String(contentLength));
  // From an untrusted peer X-Forwarded-For is overwritten; from a trusted one the part of the
  // chain trusted hops vouch for is kept and the peer appended (trust.ts).
  let client = socketAddress;
  if (trust) {
    const chain = forwardedChain(socketAddress, forwardedFor, options.trust);
    client = chain.client;
    out.push('X-Forwarded-For', chain.forwardedFor);
  } else {
    out.push('X-Forwarded-For', socketAddress);
  }
  out.push('X-Forwarded-Proto', trust && forwardedProto !== undefined ? forwardedProto : 'http');
  const shownHost = trust && forwardedHost !== undefined ? forwardedHost : host;
  if (shownHost !== undefined) out.push('X-Forwarded-Host', shownHost);
  if (requestId === undefined || !REQUEST_ID.test(requestId)) requestId = randomUUID();
  out.push('X-Request-Id', requestId);
  if (options.upgrade && upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return {
    client,
    headers: out,
    requestId,
    contentLength: Number.isSafeInteger(contentLength) ? contentLength : -1,
    chunked,
    idempotencyKey,
    hasHost: host !== undefined,
    timeout,
    deadline,
  };
}

/**
 * The head of an upstream's answer as the client gets it, without the final blank line. `fields`
 * come from parseResponseHead (hop-by-hop lines already removed; Transfer-Encoding and
 * Content-Length kept, since the body is passed on with its framing). `dechunk` is for an
 * HTTP/1.0 client, which gets the body without chunked framing.
 */
export function clientHead(status: number, reason: string, fields: string, dechunk = false): string {
  const lines = dechunk ? fields.replace(/^transfer-encoding:[^\r]*\r\n/gim, '') : fields;
  // The caller adds the Connection field and the blank line, hence no CRLF at the end.
  return lines === '' ? `HTTP/1.1 ${status} ${reason}` : `HTTP/1.1 ${status} ${reason}\r\n${lines.slice(0, -2)}`;
}

/** Serializes request fields (from forwardRequestHeaders) as header lines, each ending in CRLF. */
export function fieldLines(fields: readonly string[]): string {
  let text = '';
  for (let i = 0; i < fields.length; i += 2) text += `${fields[i]}: ${fields[i + 1]}\r\n`;
  return text;
}
