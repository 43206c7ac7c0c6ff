import { clientHead, fieldLines, forwardRequestHeaders } from './headers';
import { parseTrustProxy } from '@evshare/kit';

const edge = { socketAddress: '198.51.100.9', trust: parseTrustProxy('false')!, upgrade: false };

/** Header list as a name -> values map, names lower-cased, for readable expectations. */
function asMap(flat: string[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (map[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return map;
}

describe('forwardRequestHeaders', () => {
  it('passes ordinary headers and sets the forwarding headers from what the gateway saw', () => {
    const facts = forwardRequestHeaders(['Host', 'evshare.example', 'Accept', 'application/json', 'Cookie', 'sid=1'], edge);
    expect(facts.client).toBe('198.51.100.9');
    expect(asMap(facts.headers)).toEqual({
      host: ['evshare.example'],
      accept: ['application/json'],
      cookie: ['sid=1'],
      'x-forwarded-for': ['198.51.100.9'],
      'x-forwarded-proto': ['http'],
      'x-forwarded-host': ['evshare.example'],
      'x-request-id': [facts.requestId],
    });
    expect(facts.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(facts).toMatchObject({ contentLength: -1, chunked: false, idempotencyKey: false });
  });

  // The peer 198.51.100.9 is a proxy in front (trusted by address) or an internet client.
  const proxy = parseTrustProxy('198.51.100.0/24')!;
  it.each([
    ['untrusted peer: a forged X-Forwarded-For is overwritten', 'false', ['X-Forwarded-For', '1.2.3.4'], '198.51.100.9', ['198.51.100.9']],
    [
      'trusted peer: the entry it added is the client, the peer is appended',
      '198.51.100.0/24',
      ['X-Forwarded-For', '1.2.3.4'],
      '1.2.3.4',
      ['1.2.3.4, 198.51.100.9'],
    ],
    [
      'trusted peer: entries left of the first untrusted hop are dropped',
      '198.51.100.0/24',
      ['X-Forwarded-For', '6.6.6.6, 1.2.3.4'],
      '1.2.3.4',
      ['1.2.3.4, 198.51.100.9'],
    ],
    [
      'trusted hops by CIDR are walked through',
      '198.51.100.0/24, 10.0.0.0/8',
      ['x-forwarded-for', '1.2.3.4', 'X-Forwarded-For', '10.0.0.7'],
      '1.2.3.4',
      ['1.2.3.4, 10.0.0.7, 198.51.100.9'],
    ],
    ['one trusted hop: the rightmost entry is the client', '1', ['X-Forwarded-For', '6.6.6.6, 1.2.3.4'], '1.2.3.4', ['1.2.3.4, 198.51.100.9']],
    ['two trusted hops', '2', ['X-Forwarded-For', '6.6.6.6, 1.2.3.4, 10.0.0.7'], '1.2.3.4', ['1.2.3.4, 10.0.0.7, 198.51.100.9']],
    ['trusted without the header: the peer', '1', [], '198.51.100.9', ['198.51.100.9']],
    ['trusted: a malformed entry ends the walk', '2', ['X-Forwarded-For', '1.2.3.4, bogus'], '198.51.100.9', ['198.51.100.9']],
    ['trusted: IPv4-mapped addresses are normalized', '1', ['X-Forwarded-For', '::ffff:10.1.2.3'], '10.1.2.3', ['10.1.2.3, 198.51.100.9']],
  ])('%s', (_name, trust, raw, client, forwardedFor) => {
    const facts = forwardRequestHeaders(raw, { ...edge, trust: parseTrustProxy(trust)! });
    expect(facts.client).toBe(client);
    expect(asMap(facts.headers)['x-forwarded-for']).toEqual(forwardedFor);
  });

  it.each([
    [false, { 'x-forwarded-proto': ['http'], 'x-forwarded-host': ['gw'] }, undefined],
    [true, { 'x-forwarded-proto': ['https'], 'x-forwarded-host': ['public.example'] }, ['for=1.2.3.4']],
  ])('trusted peer=%s decides whether client-sent proto, host and Forwarded are believed', (trusted, expected, forwarded) => {
    const raw = ['Host', 'gw', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'public.example', 'Forwarded', 'for=1.2.3.4', 'X-Real-IP', '1.2.3.4'];
    const map = asMap(forwardRequestHeaders(raw, { ...edge, trust: trusted ? proxy : edge.trust }).headers);
    expect(map).toMatchObject(expected);
    expect(map.forwarded).toEqual(forwarded);
  });

  it('strips hop-by-hop headers and the headers Connection names', () => {
    const raw = [
      'Connection',
      'keep-alive, X-Secret',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Authorization',
      'Basic x',
      'TE',
      'trailers',
      'Trailer',
      'X-T',
      'Upgrade',
      'websocket',
      'X-Secret',
      's',
      'Proxy-Connection',
      'keep-alive',
      'Accept',
      '*/*',
    ];
    const map = asMap(forwardRequestHeaders(raw, edge).headers);
    expect(Object.keys(map).sort()).toEqual(['accept', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id']);
  });

  it('keeps Connection: Upgrade and Upgrade for a WebSocket handshake', () => {
    const raw = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
    const map = asMap(forwardRequestHeaders(raw, { ...edge, upgrade: true }).headers);
    expect(map).toMatchObject({ connection: ['Upgrade'], upgrade: ['websocket'], 'sec-websocket-key': ['k'] });
  });

  it.each([
    ['a well-formed id passes', 'req-123.abc', 'req-123.abc'],
    ['an id with spaces is replaced', 'a b', undefined],
    ['an overlong id is replaced', 'x'.repeat(200), undefined],
  ])('X-Request-Id: %s', (_name, sent, kept) => {
    const facts = forwardRequestHeaders(['X-Request-Id', sent], edge);
    if (kept) expect(facts.requestId).toBe(kept);
    else expect(facts.requestId).not.toBe(sent);
    expect(asMap(facts.headers)['x-request-id']).toEqual([facts.requestId]);
  });

  it.each([
    [['Content-Length', '42'], { contentLength: 42, chunked: false, idempotencyKey: false }, ['Content-Length', '42']],
    [['content-length', '42', 'Content-Length', '42'], { contentLength: 42, chunked: false, idempotencyKey: false }, ['Content-Length', '42']],
    [['transfer-encoding', 'chunked'], { contentLength: -1, chunked: true, idempotencyKey: false }, ['Transfer-Encoding', 'chunked']],
    [['Idempotency-Key', 'k1'], { contentLength: -1, chunked: false, idempotencyKey: true }, ['Idempotency-Key', 'k1']],
  ])('writes the framing anew from what was parsed, and reads idempotency, of %j', (raw, expected, first) => {
    const facts = forwardRequestHeaders(raw, edge);
    expect(facts).toMatchObject(expected);
    expect(facts.headers.slice(0, 2)).toEqual(first);
  });

  it('adds its own fields after dropping what Connection names, so none of them can be named away', () => {
    const raw = ['Connection', 'keep-alive, X-Custom', 'X-Custom', '1', 'Content-Length', '3'];
    const map = asMap(forwardRequestHeaders(raw, edge).headers);
    expect(map['x-custom']).toBeUndefined();
    expect(map).toMatchObject({ 'content-length': ['3'], 'x-forwarded-for': ['198.51.100.9'] });
  });
});

describe('clientHead', () => {
  it.each([
    [
      'fields',
      200,
      'OK',
      'Content-Type: application/json\r\nContent-Length: 2\r\n',
      false,
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2',
    ],
    ['no fields', 204, '', '', false, 'HTTP/1.1 204 '],
    ['de-chunked', 200, 'OK', 'Transfer-Encoding: chunked\r\nX-A: 1\r\n', true, 'HTTP/1.1 200 OK\r\nX-A: 1'],
    ['de-chunked to nothing', 200, 'OK', 'transfer-encoding: chunked\r\n', true, 'HTTP/1.1 200 OK'],
  ])('writes the status line and %s without the final CRLF', (_name, status, reason, fields, dechunk, expected) => {
    expect(clientHead(status, reason, fields, dechunk)).toBe(expected);
  });
});

describe('fieldLines', () => {
  it('writes one CRLF-terminated line per field', () => {
    expect(fieldLines(['Host', 'h', 'X-A', ''])).toBe('Host: h\r\nX-A: \r\n');
  });
});
