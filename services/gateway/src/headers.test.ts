import { clientHead, fieldLines, forwardRequestHeaders, normalizeAddress } from './headers';

const edge = { socketAddress: '198.51.100.9', trustForwarded: false, upgrade: false };

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

  it.each([
    ['untrusted: a forged X-Forwarded-For is replaced', false, ['X-Forwarded-For', '1.2.3.4'], '198.51.100.9', ['198.51.100.9']],
    ['trusted: the first entry is the client, the peer is appended', true, ['X-Forwarded-For', '1.2.3.4, 10.0.0.1'], '1.2.3.4', ['1.2.3.4, 10.0.0.1, 198.51.100.9']],
    ['trusted: repeated headers are joined', true, ['x-forwarded-for', '1.2.3.4', 'X-Forwarded-For', '5.6.7.8'], '1.2.3.4', ['1.2.3.4, 5.6.7.8, 198.51.100.9']],
    ['trusted without the header: the peer', true, [], '198.51.100.9', ['198.51.100.9']],
    ['trusted: IPv4-mapped addresses are normalized', true, ['X-Forwarded-For', '::ffff:10.1.2.3'], '10.1.2.3', ['::ffff:10.1.2.3, 198.51.100.9']],
  ])('%s', (_name, trustForwarded, raw, client, forwardedFor) => {
    const facts = forwardRequestHeaders(raw, { ...edge, trustForwarded });
    expect(facts.client).toBe(client);
    expect(asMap(facts.headers)['x-forwarded-for']).toEqual(forwardedFor);
  });

  it.each([
    [false, { 'x-forwarded-proto': ['http'], 'x-forwarded-host': ['gw'] }, undefined],
    [true, { 'x-forwarded-proto': ['https'], 'x-forwarded-host': ['public.example'] }, ['for=1.2.3.4']],
  ])('trust=%s decides whether client-sent proto, host and Forwarded are believed', (trustForwarded, expected, forwarded) => {
    const raw = ['Host', 'gw', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'public.example', 'Forwarded', 'for=1.2.3.4', 'X-Real-IP', '1.2.3.4'];
    const map = asMap(forwardRequestHeaders(raw, { ...edge, trustForwarded }).headers);
    expect(map).toMatchObject(expected);
    expect(map.forwarded).toEqual(forwarded);
  });

  it('strips hop-by-hop headers and the headers Connection names', () => {
    const raw = ['Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Trailer', 'X-T', 'Upgrade', 'websocket', 'X-Secret', 's', 'Proxy-Connection', 'keep-alive', 'Accept', '*/*'];
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
    [['Content-Length', '42'], { contentLength: 42, chunked: false, idempotencyKey: false }],
    [['Transfer-Encoding', 'chunked'], { contentLength: -1, chunked: true, idempotencyKey: false }],
    [['Content-Length', 'nope'], { contentLength: -1, chunked: false, idempotencyKey: false }],
    [['Idempotency-Key', 'k1'], { contentLength: -1, chunked: false, idempotencyKey: true }],
  ])('reads the body framing and idempotency of %j', (raw, expected) => {
    const facts = forwardRequestHeaders(raw, edge);
    expect(facts).toMatchObject(expected);
    expect(facts.headers.slice(0, 2)).toEqual(raw);
  });
});

describe('clientHead', () => {
  it.each([
    ['fields', 200, 'OK', 'Content-Type: application/json\r\nContent-Length: 2\r\n', false, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2'],
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

describe('normalizeAddress', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
  ])('%s -> %s', (input, output) => expect(normalizeAddress(input)).toBe(output));
});
