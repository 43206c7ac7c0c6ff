/**
 * The HTTP/1.1 message framing the gateway's proxy engine needs (RFC 9112), pure and strict.
 *
 * Why not node:http: measured on the project's 2-core machines, Node's ClientRequest/Agent path
 * costs about three times HAProxy's CPU per proxied request, while forwarding on raw sockets
 * costs about the same as HAProxy (docs/BENCHMARKS.md, "Gateway"). Forwarding raw means parsing
 * here, and a proxy that frames a request differently from the server behind it enables request
 * smuggling, so everything ambiguous is refused rather than guessed: Content-Length together with
 * Transfer-Encoding, differing or malformed lengths, codings other than chunked, obs-fold, bare
 * CR or LF, control characters, a missing or repeated Host.
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
  headers: string[];
  contentLength: number;
  chunked: boolean;
  /** The server keeps the connection after this response. */
  keepAlive: boolean;
}

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s\x00-\x1f\x7f]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
/** name ":" OWS value OWS, value without control characters other than HTAB. */
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
const DIGITS = /^\d{1,15}$/;

/** Index just past the blank line ending the head, or -1 while it is incomplete. */
export function headEnd(buffer: Buffer, from = 0): number {
  const at = buffer.indexOf('\r\n\r\n', from, 'latin1');
  return at < 0 ? -1 : at + 4;
}

interface Fields {
  headers: string[];
  contentLength: number;
  transferEncoding: string | undefined;
  connection: string;
  upgrade: boolean;
  host: number;
  expect: string | undefined;
}

/** Parses the field lines of a head (after its first line). */
function parseFields(lines: string[], from: number, status: number): Fields {
  if (lines.length - from > MAX_HEADERS) throw new HttpError(431, 'too many header fields');
  const fields: Fields = { headers: [], contentLength: -1, transferEncoding: undefined, connection: '', upgrade: false, host: 0, expect: undefined };
  for (let i = from; i < lines.length; i++) {
    const match = FIELD.exec(lines[i]!);
    // Also refuses obs-fold (a line starting with whitespace) and a bare CR or LF in a line.
    if (match === null) throw new HttpError(status, `malformed header line ${JSON.stringify(lines[i]!.slice(0, 40))}`);
    const name = match[1]!;
    const value = match[2]!;
    fields.headers.push(name, value);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') fields.host++;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') fields.expect = value.toLowerCase();
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') fields.upgrade = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') fields.connection += `${value.toLowerCase()},`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (!DIGITS.test(value)) throw new HttpError(status, 'malformed Content-Length');
          const length = Number(value);
          if (fields.contentLength >= 0 && fields.contentLength !== length) throw new HttpError(status, 'conflicting Content-Length');
          fields.contentLength = length;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          if (fields.transferEncoding !== undefined) throw new HttpError(status, 'repeated Transfer-Encoding');
          fields.transferEncoding = value.toLowerCase();
        }
        break;
    }
  }
  return fields;
}

/** Whether a comma-separated Connection value (as collected, lower-cased) lists `token`. */
function lists(connection: string, token: string): boolean {
  if (connection === '') return false;
  for (const part of connection.split(',')) if (part.trim() === token) return true;
  return false;
}

/** Parses a request head (the text before the blank line, latin1). */
export function parseRequestHead(text: string): RequestHead {
  const lines = text.split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]!);
  if (line === null) {
    if (/ HTTP\/(?!1\.[01]$)\d/.test(lines[0]!)) throw new HttpError(505, 'only HTTP/1.0 and HTTP/1.1 are served');
    throw new HttpError(400, 'malformed request line');
  }
  const method = line[1]!;
  const target = line[2]!;
  const minor = Number(line[3]);
  if (target.charCodeAt(0) !== 47 /* / */ && !(target === '*' && method === 'OPTIONS')) {
    throw new HttpError(400, 'the request target must be a path');
  }
  const fields = parseFields(lines, 1, 400);
  if (minor === 1 && fields.host !== 1) throw new HttpError(400, fields.host === 0 ? 'missing Host' : 'repeated Host');
  let chunked = false;
  if (fields.transferEncoding !== undefined) {
    if (minor === 0) throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (fields.contentLength >= 0) throw new HttpError(400, 'both Content-Length and Transfer-Encoding');
    if (fields.transferEncoding !== 'chunked') throw new HttpError(fields.transferEncoding.endsWith('chunked') ? 501 : 400, 'only the chunked transfer coding is accepted');
    chunked = true;
  }
  let expectContinue = false;
  if (fields.expect !== undefined) {
    if (fields.expect !== '100-continue') throw new HttpError(417, 'only Expect: 100-continue is supported');
    expectContinue = minor === 1;
  }
  const keepAlive = minor === 1 ? !lists(fields.connection, 'close') : lists(fields.connection, 'keep-alive');
  return {
    method,
    target,
    minor,
    headers: fields.headers,
    contentLength: fields.contentLength,
    chunked,
    keepAlive,
    upgrade: fields.upgrade && lists(fields.connection, 'upgrade'),
    expectContinue,
  };
}

/** Parses a response head from an upstream. Throws HttpError(502) on anything malformed. */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const line = STATUS_LINE.exec(lines[0]!);
  if (line === null) throw new HttpError(502, 'malformed status line from the upstream');
  const minor = Number(line[1]);
  const fields = parseFields(lines, 1, 502);
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
    headers: fields.headers,
    contentLength: fields.contentLength,
    chunked,
    keepAlive: minor === 1 ? !lists(fields.connection, 'close') : lists(fields.connection, 'keep-alive'),
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
