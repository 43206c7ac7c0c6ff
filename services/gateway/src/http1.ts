/**
 * The HTTP/1.1 message framing the gateway's proxy engine needs (RFC 9112), pure and strict.
 *
 * Why not node:http: measured on the project's 2-core machines, Node's ClientRequest/Agent path
 * costs about three times HAProxy's CPU per proxied request, while forwarding on raw sockets
 * costs about the same as HAProxy (docs/BENCHMARKS.md, "Gateway"). Forwarding raw means parsing
 * here, and a proxy that frames a request differently from the server behind it enables request
 * smuggling, so everything ambiguous is refused rather than guessed: Content-Length together with
 * Transfer-Encoding, repeated or malformed lengths, codings other than chunked, obs-fold, bare
 * CR or LF, NUL, a missing or repeated Host.
 */

export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 128;
const MAX_CHUNK_EXTENSION = 1024;
const MAX_TRAILERS_BYTES = 16 * 1024;

/** A message the gateway refuses: the status to answer (requests) and why. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form `/path?query`, or `*`). */
  target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: number;
  /** Flat [name, value, ...] as sent (names keep their case), like Node's rawHeaders. */
  headers: string[];
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** The client keeps the connection after this exchange. */
  keepAlive: boolean;
  /** Connection: upgrade with an Upgrade header (a WebSocket handshake). */
  upgrade: boolean;
  expectContinue: boolean;
}

export interface ResponseHead {
  status: number;
  reason: string;
  minor: number;
  /** Field lines for the client, each ending in CRLF: hop-by-hop ones (and those Connection names) removed. */
  fields: string;
  contentLength: number;
  chunked: boolean;
  /** The server keeps the connection after this response. */
  keepAlive: boolean;
}

// eslint-disable-next-line no-control-regex -- RFC 9112's grammar excludes control bytes from the target and the reason
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s\x00-\x1f\x7f]+) HTTP\/1\.([01])$/;
// eslint-disable-next-line no-control-regex -- as above
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
const DIGITS = /^\d{1,15}$/;

/** tchar (RFC 9110 5.6.2): the characters of a field name. */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHAR[c.charCodeAt(0)] = 1;

/**
 * A CR or LF that is not part of a CRLF, or a NUL. A bare line break is how a lenient server
 * behind a proxy can be made to see a field (say Transfer-Encoding) the proxy did not see, so
 * it is refused; found with indexOf, measured several times faster than a regular expression
 * over the head. Other control characters are refused in request field values (parseFields).
 */
function badLineBreak(text: string): boolean {
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 2)) if (text.charCodeAt(i + 1) !== 10) return true;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) if (text.charCodeAt(i - 1) !== 13) return true;
  return text.includes('\0');
}

/** Index just past the blank line ending the head, or -1 while it is incomplete. */
export function headEnd(buffer: Buffer, from = 0): number {
  const at = buffer.indexOf('\r\n\r\n', from, 'latin1');
  return at < 0 ? -1 : at + 4;
}

/** text[start, end) equals `lower` ignoring ASCII case (`lower` is lower-case); no allocation. */
function equalsLower(text: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((text.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Whether a comma-separated list (e.g. a Connection value) contains `token`, ignoring case. */
function listsToken(list: string, token: string): boolean {
  for (let start = 0; start < list.length;) {
    let end = list.indexOf(',', start);
    if (end < 0) end = list.length;
    let a = start;
    let b = end;
    while (a < b && (list.charCodeAt(a) === 32 || list.charCodeAt(a) === 9)) a++;
    while (b > a && (list.charCodeAt(b - 1) === 32 || list.charCodeAt(b - 1) === 9)) b--;
    if (equalsLower(list, a, b, token)) return true;
    start = end + 1;
  }
  return false;
}

interface Fields {
  /** Request heads: flat [name, value, ...]. */
  headers: string[];
  /** Response heads: the field lines to pass to the client, each ending in CRLF. */
  passed: string;
  contentLength: number;
  transferEncoding: string | undefined;
  /** The Connection values, joined by commas. */
  connection: string;
  upgrade: boolean;
  host: number;
  expect: string | undefined;
}

/**
 * Parses the field lines of a head, `text` from `from` on (lines separated by CRLF). Bare CR
 * and LF were refused beforehand for the whole head (badLineBreak); a non-token name is refused
 * here, which also covers obs-fold (a line starting with whitespace).
 * A request's fields are collected as a list; a response's are passed on as text with the
 * hop-by-hop lines cut out, since only its framing fields need reading. Names are compared
 * without lower-casing copies: this runs twice per proxied request.
 */
function parseFields(text: string, from: number, status: number, response: boolean): Fields {
  const fields: Fields = {
    headers: [],
    passed: '',
    contentLength: -1,
    transferEncoding: undefined,
    connection: '',
    upgrade: false,
    host: 0,
    expect: undefined,
  };
  const end = text.length;
  let count = 0;
  // Response: where the current run of lines passed on unchanged starts.
  let passedFrom = from;
  for (let start = from; start < end;) {
    let lineEnd = text.indexOf('\r\n', start);
    if (lineEnd < 0) lineEnd = end;
    if (++count > MAX_HEADERS) throw new HttpError(431, 'too many header fields');
    let colon = start;
    while (colon < lineEnd) {
      const c = text.charCodeAt(colon);
      if (c >= 128 || TOKEN_CHAR[c] === 0) break;
      colon++;
    }
    if (colon === start || colon === lineEnd || text.charCodeAt(colon) !== 58 /* : */) {
      throw new HttpError(status, `malformed header line ${JSON.stringify(text.slice(start, Math.min(lineEnd, start + 40)))}`);
    }
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && (text.charCodeAt(valueStart) === 32 || text.charCodeAt(valueStart) === 9)) valueStart++;
    while (valueEnd > valueStart && (text.charCodeAt(valueEnd - 1) === 32 || text.charCodeAt(valueEnd - 1) === 9)) valueEnd--;
    let hopByHop = false;
    switch (colon - start) {
      case 4:
        if (equalsLower(text, start, colon, 'host')) fields.host++;
        break;
      case 6:
        if (equalsLower(text, start, colon, 'expect')) fields.expect = text.slice(valueStart, valueEnd).toLowerCase();
        break;
      case 7:
        if (equalsLower(text, start, colon, 'upgrade')) hopByHop = fields.upgrade = true;
        break;
      case 10:
        if (equalsLower(text, start, colon, 'connection')) {
          fields.connection += `${text.slice(valueStart, valueEnd)},`;
          hopByHop = true;
        } else {
          hopByHop = equalsLower(text, start, colon, 'keep-alive');
        }
        break;
      case 14:
        if (equalsLower(text, start, colon, 'content-length')) {
          const value = text.slice(valueStart, valueEnd);
          if (!DIGITS.test(value)) throw new HttpError(status, 'malformed Content-Length');
          const length = Number(value);
          // In a request even an equal repetition is refused: llhttp (Node's parser, behind the
          // gateway) refuses it. An upstream's equal repetition is harmless: its length is rewritten.
          if (fields.contentLength >= 0 && (!response || fields.contentLength !== length))
            throw new HttpError(status, fields.contentLength === length ? 'repeated Content-Length' : 'conflicting Content-Length');
          fields.contentLength = length;
        }
        break;
      case 16:
        hopByHop = equalsLower(text, start, colon, 'proxy-connection');
        break;
      case 17:
        if (equalsLower(text, start, colon, 'transfer-encoding')) {
          if (fields.transferEncoding !== undefined) throw new HttpError(status, 'repeated Transfer-Encoding');
          fields.transferEncoding = text.slice(valueStart, valueEnd).toLowerCase();
        }
        break;
    }
    const next = lineEnd + 2;
    if (!response) {
      // Control characters other than HTAB are never valid in a value (RFC 9110 5.5); refused so
      // that nothing is forwarded that the server behind may read differently. (Names are tokens,
      // the request line is checked by its pattern, CR, LF and NUL by badLineBreak.) A loop:
      // measured several times cheaper than a regular expression over the head.
      for (let i = valueStart; i < valueEnd; i++) {
        const c = text.charCodeAt(i);
        if ((c < 32 && c !== 9) || c === 127) throw new HttpError(status, 'a control character in a header value');
      }
      fields.headers.push(text.slice(start, colon), text.slice(valueStart, valueEnd));
    } else if (hopByHop) {
      if (start > passedFrom) fields.passed += text.slice(passedFrom, start);
      passedFrom = next;
    }
    start = next;
  }
  if (response) {
    if (passedFrom < end) fields.passed += `${text.slice(passedFrom, end)}\r\n`;
    fields.passed = withoutListed(fields.passed, fields.connection);
  }
  return fields;
}

/** Connection options that do not name a field. */
const CONNECTION_OPTIONS = ['keep-alive', 'close', 'upgrade'];

/**
 * Fields a Connection header may not name. A proxy drops what Connection names (RFC 9110 7.6.1),
 * so naming Content-Length would forward a body without its length: the next hop reads that body
 * as a second request, whose answer goes to whoever uses the pooled connection next. Naming the
 * routing or identity fields the gateway sets (Host, X-Forwarded-*, Forwarded, X-Real-IP,
 * X-Request-Id) would strip what the next hop trusts. Such a message is refused, not repaired.
 */
const PROTECTED_FIELDS = new Set(['content-length', 'transfer-encoding', 'host', 'forwarded', 'x-real-ip', 'x-request-id']);

/** The first token of a Connection value that names a protected field, if any. */
export function protectedConnectionToken(connection: string): string | undefined {
  // Almost always "keep-alive," or "close," (or nothing): no scan.
  if (connection === '' || connection === 'keep-alive,' || connection === 'close,' || connection === 'Keep-Alive,') return undefined;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (PROTECTED_FIELDS.has(name) || name.startsWith('x-forwarded-')) return name;
  }
  return undefined;
}

/** Drops the lines of the fields a Connection value names (hop-by-hop by declaration, RFC 9110 7.6.1). */
function withoutListed(lines: string, connection: string): string {
  // Almost always just "keep-alive" or "close": nothing to remove.
  if (connection === '' || /^\s*(keep-alive|close)\s*,$/i.test(connection)) return lines;
  let result = lines;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    // Only tokens reach the pattern below, so it needs no escaping beyond these characters.
    if (name === '' || CONNECTION_OPTIONS.includes(name) || !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) continue;
    result = result.replace(new RegExp(`^${name.replace(/[.*+^$|]/g, '\\$&')}:[^\\r]*\\r\\n`, 'gim'), '');
  }
  return result;
}

/** The first line of a head, and where its fields start. */
function firstLine(text: string): [string, number] {
  const end = text.indexOf('\r\n');
  return end < 0 ? [text, text.length] : [text.slice(0, end), end + 2];
}

/** Parses a request head (the text before the blank line, latin1). */
export function parseRequestHead(text: string): RequestHead {
  if (badLineBreak(text)) throw new HttpError(400, 'CR or LF outside a line end, or NUL, in the request head');
  const [first, fieldsAt] = firstLine(text);
  const line = REQUEST_LINE.exec(first);
  if (line === null) {
    if (/ HTTP\/(?!1\.[01]$)\d/.test(first)) throw new HttpError(505, 'only HTTP/1.0 and HTTP/1.1 are served');
    throw new HttpError(400, 'malformed request line');
  }
  const method = line[1]!;
  const target = line[2]!;
  const minor = Number(line[3]);
  if (target.charCodeAt(0) !== 47 /* / */ && !(target === '*' && method === 'OPTIONS')) {
    throw new HttpError(400, 'the request target must be a path');
  }
  const fields = parseFields(text, fieldsAt, 400, false);
  const named = protectedConnectionToken(fields.connection);
  if (named !== undefined) throw new HttpError(400, `Connection may not name ${named}`);
  // HTTP/1.0 may omit Host, but two are ambiguous in any version (the request goes on as 1.1).
  if (fields.host > 1 || (minor === 1 && fields.host === 0)) throw new HttpError(400, fields.host === 0 ? 'missing Host' : 'repeated Host');
  let chunked = false;
  if (fields.transferEncoding !== undefined) {
    if (minor === 0) throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (fields.contentLength >= 0) throw new HttpError(400, 'both Content-Length and Transfer-Encoding');
    if (fields.transferEncoding !== 'chunked')
      throw new HttpError(fields.transferEncoding.endsWith('chunked') ? 501 : 400, 'only the chunked transfer coding is accepted');
    chunked = true;
  }
  let expectContinue = false;
  if (fields.expect !== undefined) {
    if (fields.expect !== '100-continue') throw new HttpError(417, 'only Expect: 100-continue is supported');
    expectContinue = minor === 1;
  }
  const keepAlive = minor === 1 ? !listsToken(fields.connection, 'close') : listsToken(fields.connection, 'keep-alive');
  const upgrade = fields.upgrade && listsToken(fields.connection, 'upgrade');
  // A handshake's bytes after the head belong to the tunnel, so a body would be read as frames.
  if (upgrade && (chunked || fields.contentLength > 0)) throw new HttpError(400, 'an upgrade request has no body');
  return {
    method,
    target,
    minor,
    headers: fields.headers,
    contentLength: fields.contentLength,
    chunked,
    keepAlive,
    upgrade,
    expectContinue,
  };
}

/**
 * Parses a response head from an upstream; its fields come back as text ready for the client.
 * Throws HttpError(502) on anything malformed.
 */
export function parseResponseHead(text: string): ResponseHead {
  if (badLineBreak(text)) throw new HttpError(502, 'CR or LF outside a line end, or NUL, from the upstream');
  const [first, fieldsAt] = firstLine(text);
  const line = STATUS_LINE.exec(first);
  if (line === null) throw new HttpError(502, 'malformed status line from the upstream');
  const minor = Number(line[1]);
  const fields = parseFields(text, fieldsAt, 502, true);
  const named = protectedConnectionToken(fields.connection);
  if (named === 'content-length' || named === 'transfer-encoding') throw new HttpError(502, `Connection names ${named} in the upstream's answer`);
  let chunked = false;
  if (fields.transferEncoding !== undefined) {
    if (fields.contentLength >= 0) throw new HttpError(502, 'both Content-Length and Transfer-Encoding from the upstream');
    if (fields.transferEncoding !== 'chunked') throw new HttpError(502, 'unsupported transfer coding from the upstream');
    chunked = true;
  }
  return {
    status: Number(line[2]),
    reason: line[3] ?? '',
    minor,
    fields: fields.passed,
    contentLength: fields.contentLength,
    chunked,
    keepAlive: minor === 1 ? !listsToken(fields.connection, 'close') : listsToken(fields.connection, 'keep-alive'),
  };
}

/** Responses that never carry a body, whatever their headers say (RFC 9112 6.3). */
export function responseHasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

const enum Chunk {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

/**
 * Follows chunked framing (RFC 9112 7.1) across reads, to find where a chunked body ends while
 * its bytes are forwarded unchanged. Optionally reports the data bytes (to de-chunk for an
 * HTTP/1.0 client). Chunk data is skipped in one step; only size lines and trailers are read
 * byte by byte.
 */
export class ChunkedScanner {
  private state = Chunk.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private extension = 0;
  private trailers = 0;

  constructor(
    private readonly errorStatus: number,
    private readonly onData?: (buffer: Buffer, from: number, to: number) => void,
  ) {}

  get done(): boolean {
    return this.state === Chunk.Done;
  }

  /** Scans buffer[from, to); returns the index just past the body's end, or -1 if it goes on. */
  scan(buffer: Buffer, from: number, to: number): number {
    let i = from;
    while (i < to) {
      switch (this.state) {
        case Chunk.Data: {
          const take = Math.min(this.remaining, to - i);
          this.onData?.(buffer, i, i + take);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = Chunk.DataCr;
          continue;
        }
        case Chunk.Size: {
          const c = buffer[i]!;
          const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (digit >= 0) {
            if (++this.digits > 12) throw new HttpError(this.errorStatus, 'chunk size too large');
            this.size = this.size * 16 + digit;
          } else if (this.digits === 0) {
            throw new HttpError(this.errorStatus, 'malformed chunk size');
          } else if (c === 13) {
            this.state = Chunk.SizeLf;
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.state = Chunk.Extension;
            this.extension = 0;
          } else {
            throw new HttpError(this.errorStatus, 'malformed chunk size');
          }
          break;
        }
        case Chunk.Extension: {
          const c = buffer[i]!;
          if (c === 13) this.state = Chunk.SizeLf;
          else if (c === 10 || (c < 32 && c !== 9) || c === 127 || ++this.extension > MAX_CHUNK_EXTENSION) {
            throw new HttpError(this.errorStatus, 'malformed chunk extension');
          }
          break;
        }
        case Chunk.SizeLf:
          if (buffer[i] !== 10) throw new HttpError(this.errorStatus, 'malformed chunk size line');
          if (this.size === 0) {
            this.state = Chunk.TrailerStart;
          } else {
            this.remaining = this.size;
            this.state = Chunk.Data;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case Chunk.DataCr:
          if (buffer[i] !== 13) throw new HttpError(this.errorStatus, 'chunk data longer than its size');
          this.state = Chunk.DataLf;
          break;
        case Chunk.DataLf:
          if (buffer[i] !== 10) throw new HttpError(this.errorStatus, 'chunk data longer than its size');
          this.state = Chunk.Size;
          break;
        case Chunk.TrailerStart:
          this.state = buffer[i] === 13 ? Chunk.FinalLf : Chunk.Trailer;
          if (this.state === Chunk.Trailer) continue;
          break;
        case Chunk.Trailer: {
          const c = buffer[i]!;
          if (++this.trailers > MAX_TRAILERS_BYTES) throw new HttpError(this.errorStatus, 'trailers too large');
          if (c === 13) this.state = Chunk.TrailerLf;
          else if (c === 10) throw new HttpError(this.errorStatus, 'bare LF in trailers');
          break;
        }
        case Chunk.TrailerLf:
          if (buffer[i] !== 10) throw new HttpError(this.errorStatus, 'bare CR in trailers');
          this.state = Chunk.TrailerStart;
          break;
        case Chunk.FinalLf:
          if (buffer[i] !== 10) throw new HttpError(this.errorStatus, 'malformed end of chunked body');
          this.state = Chunk.Done;
          return i + 1;
        case Chunk.Done:
          return i;
      }
      i++;
    }
    return -1;
  }
}
