import { randomUUID } from 'node:crypto';

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
}

export interface ForwardOptions {
  /** The peer address of the client's TCP connection. */
  socketAddress: string;
  /** Take the client from X-Forwarded-For (the gateway is behind a proxy that sets it). */
  trustForwarded: boolean;
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
}

/** Headers the proxy handles itself; everything else passes unchanged. */
const REQUEST_KINDS = new Map<string, Kind>([
  ['connection', Kind.Connection],
  ['keep-alive', Kind.HopByHop],
  ['proxy-connection', Kind.HopByHop],
  ['proxy-authorization', Kind.HopByHop],
  ['te', Kind.HopByHop],
  ['trailer', Kind.HopByHop],
  ['upgrade', Kind.Upgrade],
  // Kept: Node frames the forwarded body again from it (chunked in, chunked out).
  ['transfer-encoding', Kind.TransferEncoding],
  ['content-length', Kind.ContentLength],
  ['x-forwarded-for', Kind.ForwardedFor],
  ['x-forwarded-proto', Kind.ForwardedProto],
  ['x-forwarded-host', Kind.ForwardedHost],
  ['forwarded', Kind.Forwarded],
  ['x-real-ip', Kind.RealIp],
  ['x-request-id', Kind.RequestId],
  ['idempotency-key', Kind.IdempotencyKey],
  ['host', Kind.Host],
]);

/** Tokens of a Connection header that do not name another header to strip. */
const CONNECTION_OPTIONS = new Set(['keep-alive', 'close', 'upgrade']);

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

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
 * names), X-Forwarded-For/-Proto/-Host set from what the gateway saw (client-sent values are
 * dropped unless trusted: the gateway is the edge, and a forged X-Forwarded-For would move a
 * client's stickiness and recorded address), X-Request-Id kept when well-formed, else generated.
 */
export function forwardRequestHeaders(raw: readonly string[], options: ForwardOptions): RequestFacts {
  const socketAddress = normalizeAddress(options.socketAddress);
  const trust = options.trustForwarded;
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
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const kind = REQUEST_KINDS.get(name.toLowerCase());
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
      case Kind.TransferEncoding:
        chunked = true;
        headers.push(name, value);
        break;
      case Kind.ContentLength:
        contentLength = Number(value);
        headers.push(name, value);
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
    }
  }
  let client = socketAddress;
  if (trust && forwardedFor !== undefined) {
    const comma = forwardedFor.indexOf(',');
    const first = (comma < 0 ? forwardedFor : forwardedFor.slice(0, comma)).trim();
    if (first) client = normalizeAddress(first);
    headers.push('X-Forwarded-For', `${forwardedFor}, ${socketAddress}`);
  } else {
    headers.push('X-Forwarded-For', socketAddress);
  }
  headers.push('X-Forwarded-Proto', trust && forwardedProto !== undefined ? forwardedProto : 'http');
  const shownHost = trust && forwardedHost !== undefined ? forwardedHost : host;
  if (shownHost !== undefined) headers.push('X-Forwarded-Host', shownHost);
  if (requestId === undefined || !REQUEST_ID.test(requestId)) requestId = randomUUID();
  headers.push('X-Request-Id', requestId);
  if (options.upgrade && upgrade !== undefined) headers.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  const listed = connection === undefined ? [] : connectionListed(connection);
  return {
    client,
    headers: listed.length === 0 ? headers : without(headers, listed),
    requestId,
    contentLength: Number.isSafeInteger(contentLength) ? contentLength : -1,
    chunked,
    idempotencyKey,
  };
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'trailer', 'upgrade']);

/**
 * The upstream's response headers for the client: hop-by-hop ones stripped (Node sets the
 * client connection's own), Transfer-Encoding and Content-Length kept so Node frames the body.
 * Returns the same array when nothing needs stripping, the common case.
 */
export function forwardResponseHeaders(raw: string[]): string[] {
  let strip = false;
  let listed: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (RESPONSE_HOP_BY_HOP.has(name)) {
      strip = true;
      if (name === 'connection') listed = listed.concat(connectionListed(raw[i + 1]!));
    }
  }
  if (!strip) return raw;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!RESPONSE_HOP_BY_HOP.has(name) && !listed.includes(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
