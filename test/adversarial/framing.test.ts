import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { startGateway, gatewayConfigSchema, type RunningGateway } from '@evshare/gateway';
import { createLogger, createMemoryBus, parseConfig } from '@evshare/kit';
import { checkProperty, fuzzTimeout } from '../support/fuzz';

/**
 * HTTP/1.1 framing at the internet edge: request smuggling and desync families, and generated
 * mutations of them, sent on raw sockets to the real gateway in front of a recording backend
 * (node:http, so llhttp, recording every request it parses). The same bytes also go straight to a
 * second recording backend: that is how the backend's own parser reads them.
 *
 * Property: the gateway refuses a message (a 4xx/5xx of its own, then it closes the connection)
 * or forwards it as exactly one request that the backend parses as the direct parse does (method,
 * target, the headers that matter, body bytes); the answers reach the client in order, one per
 * forwarded request, so nothing is split, merged or re-framed; and the gateway never crashes or
 * hangs (every case ends within a bounded time, and the gateway serves normally afterwards).
 */

interface Recorded {
  method: string;
  url: string;
  /** [lower-case name, value] as llhttp parsed them. */
  headers: [string, string][];
  body: string;
}

interface Recorder {
  port: number;
  records: Recorded[];
  close(): Promise<void>;
}

/** A node:http server that records what it parsed and answers `rec:<n>` (n: the record's index). */
async function startRecorder(): Promise<Recorder> {
  const records: Recorded[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/readyz' && req.headers['user-agent'] === 'evshare-gateway-probe') {
        res.writeHead(200, { 'content-length': '2' }).end('{}');
        return;
      }
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      const n = records.push({ method: req.method!, url: req.url!, headers, body: Buffer.concat(chunks).toString('latin1') }) - 1;
      const text = `rec:${n}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(text.length) }).end(text);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    records,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Response {
  status: number;
  headers: [string, string][];
  body: string;
}

interface Outcome {
  responses: Response[];
  /** The peer closed the connection (rather than the case timing out). */
  closed: boolean;
  /** Bytes after the last complete response (a response broken off). */
  rest: string;
}

/** Reads HTTP/1.1 responses from a byte string (1xx skipped); what cannot be read stays in `rest`. */
function parseResponses(text: string, closed: boolean): Pick<Outcome, 'responses' | 'rest'> {
  const responses: Response[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
    if (!status) break;
    const headers = lines.slice(1).map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]);
    const field = (name: string) => headers.find(([n]) => n === name)?.[1];
    let bodyEnd: number;
    const bodyStart = end + 4;
    if (status < 200) {
      at = bodyStart;
      continue;
    }
    if (field('transfer-encoding') === 'chunked') {
      let p = bodyStart;
      let body = '';
      for (;;) {
        const lineEnd = text.indexOf('\r\n', p);
        if (lineEnd < 0) return { responses, rest: text.slice(at) };
        const size = parseInt(text.slice(p, lineEnd), 16);
        if (Number.isNaN(size)) return { responses, rest: text.slice(at) };
        if (size === 0) {
          const trailerEnd = text.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd < 0) return { responses, rest: text.slice(at) };
          bodyEnd = trailerEnd + 2;
          break;
        }
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
        p = lineEnd + 2 + size + 2;
        if (p > text.length) return { responses, rest: text.slice(at) };
      }
      responses.push({ status, headers, body });
      at = bodyEnd;
      continue;
    }
    const length = field('content-length');
    if (length !== undefined) {
      bodyEnd = bodyStart + Number(length);
      if (bodyEnd > text.length) break;
    } else if (closed) {
      bodyEnd = text.length;
    } else {
      break;
    }
    responses.push({ status, headers, body: text.slice(bodyStart, bodyEnd) });
    at = bodyEnd;
  }
  return { responses, rest: text.slice(at) };
}

/**
 * Case time limit: a message whose body never completes waits this long, then the client leaves.
 * A complete case ends at once (the sentinel closes the connection); generous for a busy machine.
 */
const CASE_MS = 1500;

function send(port: number, bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ ...parseResponses(text, closed), closed });
    };
    const timer = setTimeout(() => done(false), CASE_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
    socket.write(bytes);
  });
}

/** After every case: a well-formed request ending the connection, so that a complete case ends at once. */
const SENTINEL = 'GET /api/v1/sentinel HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n';

/** Fields the gateway sets, drops or rewrites by design; compared through the body bytes instead. */
const NOT_COMPARED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  'expect',
  'upgrade',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-real-ip',
  'x-request-id',
  'x-request-deadline',
  'x-request-timeout',
]);

function comparable(record: Recorded, direct: Recorded): string[] {
  const listed = new Set(
    direct.headers
      .filter(([name]) => name === 'connection')
      .flatMap(([, value]) => value.split(','))
      .map((token) => token.trim().toLowerCase()),
  );
  const directHasHost = direct.headers.some(([name]) => name === 'host');
  return record.headers
    .filter(([name]) => !NOT_COMPARED.has(name) && !listed.has(name) && (name !== 'host' || directHasHost))
    .map(([name, value]) => `${name}: ${value}`)
    .sort();
}

/** Statuses the gateway refuses a message with; each must close the connection. */
const REFUSALS = new Set([400, 408, 413, 414, 417, 431, 501, 505]);

let gateway: RunningGateway;
let behind: Recorder;
let direct: Recorder;
const bus = createMemoryBus();

beforeAll(async () => {
  behind = await startRecorder();
  direct = await startRecorder();
  const url = `http://127.0.0.1:${behind.port}`;
  const config = parseConfig(gatewayConfigSchema, {
    PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    APP_UPSTREAMS: url,
    AUTH_UPSTREAMS: url,
    PUSH_UPSTREAMS: url,
    WEB_UPSTREAM: url,
    HEALTH_INTERVAL_MS: '1000',
    HEADERS_TIMEOUT_MS: '2000',
  });
  gateway = await startGateway({ config, log: createLogger('framing-test', 'silent'), bus });
  // Warm both paths (connections, JIT) so that the first case is timed like the others.
  for (let i = 0; i < 3; i++) await Promise.all([send(gateway.port, Buffer.from(SENTINEL)), send(direct.port, Buffer.from(SENTINEL))]);
});

afterAll(async () => {
  await gateway.stop();
  await bus.close();
  await behind.close();
  await direct.close();
});

/** Sends one case both ways and checks the property; returns a description of the first violation. */
async function violation(message: Buffer): Promise<string | undefined> {
  behind.records.length = 0;
  direct.records.length = 0;
  const bytes = Buffer.concat([message, Buffer.from(SENTINEL, 'latin1')]);
  const [viaGateway] = await Promise.all([send(gateway.port, bytes), send(direct.port, bytes)]);
  // Requests still streaming when the client left end at the backends a moment later.
  if (!viaGateway.closed) await new Promise((resolve) => setTimeout(resolve, 30));
  const forwarded = [...behind.records];
  const parsed = [...direct.records];
  const list = (records: Recorded[]) => records.map((r) => `${r.method} ${r.url.slice(0, 60)}`).join(', ');
  if (forwarded.length > parsed.length)
    return `the gateway forwarded ${forwarded.length} requests (${list(forwarded)}) where the backend's parser reads ${parsed.length} (${list(parsed)})`;
  for (let i = 0; i < forwarded.length; i++) {
    const got = forwarded[i]!;
    const want = parsed[i]!;
    if (got.method !== want.method || got.url !== want.url) return `request ${i}: ${got.method} ${got.url} forwarded, ${want.method} ${want.url} parsed`;
    if (got.body !== want.body) return `request ${i}: body ${JSON.stringify(got.body)} forwarded, ${JSON.stringify(want.body)} parsed`;
    const [a, b] = [comparable(got, want).join('\n'), comparable(want, want).join('\n')];
    if (a !== b) return `request ${i}: headers\n${a}\nforwarded, parsed\n${b}`;
  }
  // The answers: one per forwarded request, in order, then at most one refusal, after which the gateway closed.
  const answers = viaGateway.responses;
  let next = 0;
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i]!;
    if (answer.body.startsWith('rec:')) {
      if (answer.body !== `rec:${next}`) return `answer ${i} is ${answer.body}, expected rec:${next} (answers out of order or mixed)`;
      next++;
    } else if (REFUSALS.has(answer.status)) {
      if (i !== answers.length - 1) return `answer ${i} (${answer.status}) is followed by more answers`;
      if (!viaGateway.closed) return `the connection stayed open after a ${answer.status}`;
    } else if (answer.status !== 404 && answer.status !== 405) {
      return `unexpected answer ${answer.status} ${answer.body}`;
    }
  }
  if (next !== forwarded.length) return `${forwarded.length} requests forwarded, ${next} answered`;
  return undefined;
}

const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const post =
  (...fields: string[]) =>
  (body: string) =>
    `${crlf('POST /api/v1/rentals HTTP/1.1', 'Host: gw', ...fields)}${body}`;
const smuggled = 'GET /api/v1/admin HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';

/** The known families, each as a complete message (the sentinel follows). */
const FAMILIES: [string, string][] = [
  ['plain GET', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'Cookie: a=1', 'Accept: */*')],
  ['POST with a length', post('Content-Length: 5', 'Content-Type: text/plain')('hello')],
  ['chunked POST', post('Transfer-Encoding: chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['chunked with trailers', post('Transfer-Encoding: chunked')('5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n')],
  ['CL.TE', post('Content-Length: 6', 'Transfer-Encoding: chunked')(`0\r\n\r\nG${smuggled}`)],
  ['TE.CL', post('Transfer-Encoding: chunked', 'Content-Length: 3')(`8\r\nSMUGGLED\r\n0\r\n\r\n`)],
  ['TE.TE xchunked', post('Transfer-Encoding: xchunked', 'Content-Length: 4')('abcd')],
  ['TE.TE leading space value', post('Transfer-Encoding:  chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE space before colon', post('Transfer-Encoding : chunked', 'Content-Length: 4')('abcd')],
  ['TE.TE chunked, identity', post('Transfer-Encoding: chunked, identity')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE identity, chunked', post('Transfer-Encoding: identity, chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE duplicated', post('Transfer-Encoding: chunked', 'Transfer-Encoding: identity')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE tab', post('Transfer-Encoding:\tchunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE case', post('Transfer-Encoding: CHUNKED')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE name case', post('tRANSFER-eNCODING: chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE.TE vertical tab', post('Transfer-Encoding:\x0bchunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['TE in HTTP/1.0', `${crlf('POST /api/v1/rentals HTTP/1.0', 'Host: gw', 'Transfer-Encoding: chunked')}5\r\nhello\r\n0\r\n\r\n`],
  ['CL.CL differing', post('Content-Length: 5', 'Content-Length: 6')('hello!')],
  ['CL.CL equal', post('Content-Length: 5', 'Content-Length: 5')('hello')],
  ['CL list', post('Content-Length: 5, 5')('hello')],
  ['CL signed', post('Content-Length: +5')('hello')],
  ['CL leading zeros', post('Content-Length: 005')('hello')],
  ['CL huge', post('Content-Length: 99999999999999999999')('hello')],
  ['CL.0 on GET with a body', `${crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'Content-Length: 0')}${smuggled}`],
  ['GET with a body', `${crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', `Content-Length: ${smuggled.length}`)}${smuggled}`],
  ['Connection: content-length', post('Connection: keep-alive, content-length', `Content-Length: ${smuggled.length}`)(smuggled)],
  ['Connection: transfer-encoding', post('Connection: transfer-encoding', 'Transfer-Encoding: chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['Connection: x-forwarded-for', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'Connection: x-forwarded-for', 'X-Forwarded-For: 6.6.6.6')],
  ['Connection: a custom field', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'Connection: x-drop', 'X-Drop: 1', 'X-Keep: 2')],
  ['obs-fold', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'X-A: 1', ' Transfer-Encoding: chunked')],
  ['obs-fold of TE', post('Transfer-Encoding:', ' chunked')('5\r\nhello\r\n0\r\n\r\n')],
  ['bare LF line ends', 'GET /api/v1/sync HTTP/1.1\nHost: gw\n\n'],
  ['bare LF inside the head', post('X-A: 1\nTransfer-Encoding: chunked', 'Content-Length: 4')('abcd')],
  ['bare CR inside the head', post('X-A: 1\rTransfer-Encoding: chunked', 'Content-Length: 4')('abcd')],
  ['NUL in a value', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'X-A: a\0b')],
  ['control byte in a value', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'X-A: a\x01b')],
  ['DEL in a name', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'X\x7fA: 1')],
  ['high byte in a value', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', 'X-A: caf\xe9')],
  ['chunk size overflow', post('Transfer-Encoding: chunked')('fffffffffffffffff\r\nhello\r\n0\r\n\r\n')],
  ['chunk size with a sign', post('Transfer-Encoding: chunked')('+5\r\nhello\r\n0\r\n\r\n')],
  ['chunk extension', post('Transfer-Encoding: chunked')('5;name=value\r\nhello\r\n0\r\n\r\n')],
  ['chunk extension with a bare LF', post('Transfer-Encoding: chunked')('5;a\nb\r\nhello\r\n0\r\n\r\n')],
  ['chunk data longer than its size', post('Transfer-Encoding: chunked')('3\r\nhello\r\n0\r\n\r\n')],
  ['chunk terminated by LF only', post('Transfer-Encoding: chunked')('5\nhello\n0\n\n')],
  ['chunk without its CRLF', post('Transfer-Encoding: chunked')('5\r\nhello0\r\n\r\n')],
  ['last chunk without the final CRLF', post('Transfer-Encoding: chunked')('5\r\nhello\r\n0\r\n')],
  ['pipelined', `${crlf('GET /api/v1/one HTTP/1.1', 'Host: gw')}${crlf('GET /api/v1/two HTTP/1.1', 'Host: gw')}${post('Content-Length: 2')('ok')}`],
  ['pipelined after a refusal', `${crlf('GET /api/v1/one HTTP/1.1', 'Host: gw', 'Content-Length: x')}${crlf('GET /api/v1/two HTTP/1.1', 'Host: gw')}`],
  ['Expect: 100-continue', post('Expect: 100-continue', 'Content-Length: 5')('hello')],
  ['Expect: something else', post('Expect: magic', 'Content-Length: 5')('hello')],
  ['absolute-form', crlf('GET http://evil.example/api/v1/sync HTTP/1.1', 'Host: gw')],
  ['asterisk-form OPTIONS', crlf('OPTIONS * HTTP/1.1', 'Host: gw')],
  ['asterisk-form GET', crlf('GET * HTTP/1.1', 'Host: gw')],
  ['double slash', crlf('GET //api/v1/sync HTTP/1.1', 'Host: gw')],
  ['no leading slash', crlf('GET api/v1/sync HTTP/1.1', 'Host: gw')],
  ['very long target', crlf(`GET /api/v1/${'a'.repeat(8000)} HTTP/1.1`, 'Host: gw')],
  ['target over the head limit', crlf(`GET /api/v1/${'a'.repeat(17000)} HTTP/1.1`, 'Host: gw')],
  ['129 fields', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', ...Array.from({ length: 128 }, (_, i) => `X-${i}: 1`))],
  ['a 16 KiB field', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', `X-Big: ${'b'.repeat(16 * 1024)}`)],
  ['HTTP/1.0 without Host', crlf('GET /api/v1/sync HTTP/1.0')],
  ['HTTP/1.0 keep-alive', crlf('GET /api/v1/sync HTTP/1.0', 'Connection: keep-alive')],
  ['HTTP/1.0 with two Hosts', crlf('GET /api/v1/sync HTTP/1.0', 'Host: a', 'Host: b')],
  ['HTTP/0.9', 'GET /api/v1/sync\r\n'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['HTTP/1.2', crlf('GET /api/v1/sync HTTP/1.2', 'Host: gw')],
  ['lower-case version', crlf('GET /api/v1/sync http/1.1', 'Host: gw')],
  ['unknown method', crlf('BREW /api/v1/sync HTTP/1.1', 'Host: gw')],
  ['non-token method', crlf('G(ET /api/v1/sync HTTP/1.1', 'Host: gw')],
  ['lower-case method', crlf('get /api/v1/sync HTTP/1.1', 'Host: gw')],
  ['two spaces in the request line', crlf('GET  /api/v1/sync HTTP/1.1', 'Host: gw')],
  ['missing Host', crlf('GET /api/v1/sync HTTP/1.1')],
  ['two Hosts', crlf('GET /api/v1/sync HTTP/1.1', 'Host: a', 'Host: b')],
  ['empty Host', crlf('GET /api/v1/sync HTTP/1.1', 'Host:')],
  ['an upgrade that is refused', `${crlf('GET /push HTTP/1.1', 'Host: gw', 'Connection: Upgrade', 'Upgrade: websocket')}${smuggled}`],
  ['an upgrade with a body', post('Connection: Upgrade', 'Upgrade: websocket', 'Content-Length: 5')('hello')],
  ['leading empty lines', `\r\n\r\n${crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw')}`],
  ['many leading empty lines', `${'\r\n'.repeat(10)}${crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw')}`],
  ['whitespace before the first field', crlf('GET /api/v1/sync HTTP/1.1', ' Host: gw')],
  ['empty field name', crlf('GET /api/v1/sync HTTP/1.1', 'Host: gw', ': x')],
  ['the auth pool', post('Content-Length: 2')('{}').replace('/api/v1/rentals', '/api/v1/auth/login')],
];

/** Field lines that change framing or routing when inserted into a message. */
const NASTY_LINES = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  'Content-Length: 0',
  'Content-Length: 3',
  'Content-Length: -1',
  'Connection: content-length',
  'Connection: close',
  'Connection: keep-alive, x-forwarded-for',
  'Expect: 100-continue',
  'Host: other',
  'X-Forwarded-For: 6.6.6.6',
  ' folded',
  'Upgrade: websocket',
];

type Mutation =
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insertLine'; line: number; text: string }
  | { kind: 'bareLf'; line: number }
  | { kind: 'truncate'; at: number };

const INTERESTING = [0, 1, 9, 10, 11, 13, 32, 44, 48, 58, 59, 97, 127, 255];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insertLine' as const), line: fc.nat({ max: 8 }), text: fc.constantFrom(...NASTY_LINES) }),
  fc.record({ kind: fc.constant('bareLf' as const), line: fc.nat({ max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(message: string, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(message, 'latin1');
  for (const m of mutations) {
    const text = bytes.toString('latin1');
    const lineStarts = [0, ...[...text.matchAll(/\r\n/g)].map((match) => match.index + 2)].filter(
      (i) => i < text.indexOf('\r\n\r\n') + 2 || text.indexOf('\r\n\r\n') < 0,
    );
    switch (m.kind) {
      case 'byte':
        if (bytes.length > 0) {
          bytes = Buffer.from(bytes);
          bytes[m.at % bytes.length] = m.value;
        }
        break;
      case 'delete': {
        const at = m.at % Math.max(1, bytes.length);
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      }
      case 'insertLine': {
        // After the request line, among the fields.
        const at = lineStarts[1 + (m.line % Math.max(1, lineStarts.length - 1))] ?? lineStarts.at(-1)!;
        bytes = Buffer.from(`${text.slice(0, at)}${m.text}\r\n${text.slice(at)}`, 'latin1');
        break;
      }
      case 'bareLf': {
        const at = lineStarts[1 + (m.line % Math.max(1, lineStarts.length - 1))];
        if (at !== undefined && at >= 2) bytes = Buffer.from(`${text.slice(0, at - 2)}\n${text.slice(at)}`, 'latin1');
        break;
      }
      case 'truncate':
        bytes = bytes.subarray(0, m.at % (bytes.length + 1));
        break;
    }
  }
  return bytes;
}

describe('HTTP/1.1 framing through the gateway (adversarial)', () => {
  it.each(FAMILIES)('%s: refused, or forwarded exactly as the backend parses it', async (_name, message) => {
    expect(await violation(Buffer.from(message, 'latin1'))).toBeUndefined();
  });

  it(
    'generated mutations of those messages: refused, or forwarded exactly as the backend parses them',
    async () => {
      await checkProperty(
        'gateway framing mutations',
        500,
        fc.constantFrom(...FAMILIES.map(([, message]) => message)),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (message, mutations) => {
          const problem = await violation(mutate(message, mutations));
          if (problem !== undefined) throw new Error(problem);
          return true;
        },
      );
    },
    fuzzTimeout(120_000),
  );

  it('still serves normally after all of that (no crash, no stuck state)', async () => {
    behind.records.length = 0;
    const outcome = await send(gateway.port, Buffer.from(SENTINEL, 'latin1'));
    expect(outcome.responses.map((r) => r.body)).toEqual(['rec:0']);
  });
});
