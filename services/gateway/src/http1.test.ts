import { ChunkedScanner, headEnd, HttpError, parseRequestHead, parseResponseHead, responseHasBody } from './http1';

const head = (...lines: string[]) => lines.join('\r\n');

function refusal(fn: () => unknown): { status: number; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, message: error.message };
  }
}

describe('headEnd', () => {
  it.each([
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 27],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\nnext', 27],
    ['GET / HTTP/1.1\r\nHost: a\r\n', -1],
    ['GET / HTTP/1.1\nHost: a\n\n', -1],
  ])('finds the end of %j at %i', (text, end) => expect(headEnd(Buffer.from(text, 'latin1'))).toBe(end));
});

describe('parseRequestHead', () => {
  it('reads a plain GET', () => {
    expect(parseRequestHead(head('GET /api/v1/sync?x=1 HTTP/1.1', 'Host: gw', 'Accept: */*', 'X-Empty:'))).toEqual({
      method: 'GET',
      target: '/api/v1/sync?x=1',
      minor: 1,
      headers: ['Host', 'gw', 'Accept', '*/*', 'X-Empty', ''],
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      upgrade: false,
      expectContinue: false,
    });
  });

  it.each([
    ['a length', ['Content-Length: 12'], { contentLength: 12, chunked: false }],
    ['chunked', ['Transfer-Encoding: Chunked'], { contentLength: -1, chunked: true }],
    ['Connection: close', ['Connection: keep-alive, close'], { keepAlive: false }],
    ['an upgrade', ['Connection: Upgrade', 'Upgrade: websocket'], { upgrade: true }],
    ['Upgrade without Connection: upgrade', ['Upgrade: websocket'], { upgrade: false }],
    ['Expect: 100-continue', ['Expect: 100-Continue', 'Content-Length: 5'], { expectContinue: true }],
    ['whitespace around a value', ['X-A: \t v \t'], { headers: ['Host', 'h', 'X-A', 'v'] }],
  ])('reads %s', (_name, lines, expected) => {
    expect(parseRequestHead(head('POST /api/v1/x HTTP/1.1', 'Host: h', ...lines))).toMatchObject(expected);
  });

  it.each([
    ['HTTP/1.0 defaults to close', ['GET / HTTP/1.0'], false],
    ['HTTP/1.0 with keep-alive', ['GET / HTTP/1.0', 'Connection: keep-alive'], true],
  ])('%s', (_name, lines, keepAlive) => {
    expect(parseRequestHead(head(...lines)).keepAlive).toBe(keepAlive);
  });

  it('accepts Connection options and names of ordinary fields', () => {
    const parsed = parseRequestHead(head('GET / HTTP/1.1', 'Host: h', 'Connection: keep-alive, Upgrade, TE, X-Custom', 'TE: trailers'));
    expect(parsed.keepAlive).toBe(true);
  });

  it('accepts OPTIONS *', () => {
    expect(parseRequestHead(head('OPTIONS * HTTP/1.1', 'Host: h')).target).toBe('*');
  });

  // Each of these is a way to make two HTTP implementations disagree on where a request ends.
  it.each([
    ['Content-Length with Transfer-Encoding', ['Content-Length: 5', 'Transfer-Encoding: chunked'], 400],
    ['two different lengths', ['Content-Length: 5', 'Content-Length: 6'], 400],
    ['the same length twice', ['Content-Length: 5', 'content-length: 5'], 400],
    ['a length list', ['Content-Length: 5, 5'], 400],
    ['a signed length', ['Content-Length: +5'], 400],
    ['a hex length', ['Content-Length: 0x5'], 400],
    ['Transfer-Encoding twice', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], 400],
    ['a coding before chunked', ['Transfer-Encoding: gzip, chunked'], 501],
    ['a coding after chunked', ['Transfer-Encoding: chunked, gzip'], 400],
    ['whitespace before the colon', ['Content-Length : 5'], 400],
    ['obs-fold', ['X-A: 1', ' continued'], 400],
    ['a bare LF in a field', ['X-A: 1\nContent-Length: 5'], 400],
    ['a bare CR in a field', ['X-A: 1\rX'], 400],
    ['a NUL in a value', ['X-A: a\u0000b'], 400],
    ['a control character in a value', ['X-A: a\u0001b'], 400],
    ['DEL in a value', ['X-A: a\u007fb'], 400],
    ['a bare CR at the end of a value', ['X-A: a\r'], 400],
    ['an empty field name', [': x'], 400],
    ['a non-token field name', ['X(A): 1'], 400],
    ['a second Host', ['Host: other'], 400],
    ['an unknown expectation', ['Expect: magic'], 417],
    // A proxy drops what Connection names: naming the framing would forward a body without it.
    ['Connection naming Content-Length', ['Connection: keep-alive, content-length', 'Content-Length: 5'], 400],
    ['Connection naming Transfer-Encoding', ['Connection: Transfer-Encoding', 'Transfer-Encoding: chunked'], 400],
    ['Connection naming Host', ['Connection: host'], 400],
    ['Connection naming X-Forwarded-For', ['Connection: close, X-Forwarded-For'], 400],
    ['Connection naming X-Forwarded-Proto in a second field', ['Connection: keep-alive', 'Connection: x-forwarded-proto'], 400],
    ['Connection naming Forwarded', ['Connection: Forwarded'], 400],
    ['Connection naming X-Real-IP', ['Connection: x-real-ip'], 400],
    ['Connection naming X-Request-Id', ['Connection: X-Request-ID'], 400],
    ['an upgrade with a body', ['Connection: upgrade', 'Upgrade: websocket', 'Content-Length: 5'], 400],
  ])('refuses %s', (_name, lines, status) => {
    expect(refusal(() => parseRequestHead(head('POST /x HTTP/1.1', 'Host: h', ...lines)))?.status).toBe(status);
  });

  it.each([
    ['no Host in HTTP/1.1', head('GET / HTTP/1.1'), 400],
    ['Transfer-Encoding in HTTP/1.0', head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), 400],
    ['two Hosts in HTTP/1.0', head('GET / HTTP/1.0', 'Host: a', 'Host: b'), 400],
    ['an absolute-form target', head('GET http://evil/ HTTP/1.1', 'Host: h'), 400],
    ['a space in the target', head('GET /a b HTTP/1.1', 'Host: h'), 400],
    ['a lower-case version', head('GET / http/1.1', 'Host: h'), 400],
    ['HTTP/2 over this framing', head('GET / HTTP/2.0', 'Host: h'), 505],
    ['HTTP/1.2', head('GET / HTTP/1.2', 'Host: h'), 505],
    ['a non-token method', head('G(T / HTTP/1.1', 'Host: h'), 400],
    ['garbage', 'hello', 400],
    ['too many fields', head('GET / HTTP/1.1', 'Host: h', ...Array.from({ length: 200 }, (_, i) => `X-${i}: 1`)), 431],
  ])('refuses %s', (_name, text, status) => {
    expect(refusal(() => parseRequestHead(text))?.status).toBe(status);
  });
});

describe('parseResponseHead', () => {
  it('passes the fields on as text without the hop-by-hop ones and those Connection names', () => {
    const head = parseResponseHead(
      [
        'HTTP/1.1 200 OK',
        'Content-Type: text/plain',
        'Connection: keep-alive, X-Hop',
        'Keep-Alive: timeout=5',
        'x-hop: 1',
        'Transfer-Encoding: chunked',
        'Proxy-Connection: x',
        'X-App-Instance: a',
        'Upgrade: h2c',
      ].join('\r\n'),
    );
    expect(head.fields).toBe('Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-App-Instance: a\r\n');
    expect(head).toMatchObject({ chunked: true, keepAlive: true });
  });

  it('passes a head without hop-by-hop fields unchanged', () => {
    expect(parseResponseHead('HTTP/1.1 304 Not Modified\r\nETag: "1"\r\nDate: x').fields).toBe('ETag: "1"\r\nDate: x\r\n');
    expect(parseResponseHead('HTTP/1.1 204 No Content').fields).toBe('');
  });

  it.each([
    [head('HTTP/1.1 200 OK', 'Content-Length: 2'), { status: 200, reason: 'OK', contentLength: 2, chunked: false, keepAlive: true }],
    [head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Connection: close'), { chunked: true, keepAlive: false }],
    [head('HTTP/1.1 304 Not Modified', 'ETag: "1"'), { status: 304, contentLength: -1 }],
    [head('HTTP/1.0 200 OK'), { minor: 0, keepAlive: false }],
    [head('HTTP/1.1 204'), { status: 204, reason: '' }],
  ])('reads %j', (text, expected) => expect(parseResponseHead(text)).toMatchObject(expected));

  it.each([
    head('HTTP/1.1 200 OK', 'Connection: content-length', 'Content-Length: 2'),
    head('HTTP/1.1 200 OK', 'Connection: transfer-encoding', 'Transfer-Encoding: chunked'),
    head('HTTP/1.1 20 OK'),
    head('HTTP/1.1 200 OK', 'Content-Length: 1', 'Transfer-Encoding: chunked'),
    head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'),
    head('HTTP/1.1 200 OK', 'Bad Header: 1'),
    head('ICY 200 OK'),
  ])('answers 502 for %j', (text) => expect(refusal(() => parseResponseHead(text))?.status).toBe(502));

  it.each([
    ['GET', 200, true],
    ['HEAD', 200, false],
    ['GET', 204, false],
    ['GET', 304, false],
    ['GET', 101, false],
    ['POST', 500, true],
  ])('%s answered %i has a body: %s', (method, status, body) => expect(responseHasBody(method, status)).toBe(body));
});

describe('ChunkedScanner', () => {
  const body = '5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';

  it('finds the end of a chunked body, wherever the reads split it', () => {
    const bytes = Buffer.from(`${body}NEXT`, 'latin1');
    for (let split = 0; split <= body.length; split++) {
      const scanner = new ChunkedScanner(400);
      const first = scanner.scan(bytes, 0, split);
      const end = first >= 0 ? first : scanner.scan(bytes, split, bytes.length);
      expect(end).toBe(body.length);
      expect(scanner.done).toBe(true);
    }
  });

  it('reports the data bytes for de-chunking, across reads', () => {
    const parts: string[] = [];
    const scanner = new ChunkedScanner(502, (b, from, to) => parts.push(b.toString('latin1', from, to)));
    const bytes = Buffer.from(body, 'latin1');
    for (let i = 0; i < bytes.length; i += 3) scanner.scan(bytes, i, Math.min(i + 3, bytes.length));
    expect(parts.join('')).toBe('hello 0123456789');
  });

  it('ends at a body without chunks or trailers', () => {
    expect(new ChunkedScanner(400).scan(Buffer.from('0\r\n\r\n'), 0, 5)).toBe(5);
  });

  it.each([
    ['a non-hex size', 'x\r\n'],
    ['an empty size', '\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['a bare LF after the size', '2\nab\r\n'],
    ['a size over 12 hex digits', '1000000000000\r\n'],
    ['a control character in an extension', '1;\u0001\r\n'],
    ['a bare LF in the trailers', '0\r\nX: 1\n\r\n'],
    ['a missing final CRLF', '0\r\n\rX'],
  ])('refuses %s', (_name, text) => {
    const bytes = Buffer.from(text, 'latin1');
    expect(refusal(() => new ChunkedScanner(400).scan(bytes, 0, bytes.length))?.status).toBe(400);
  });
});
