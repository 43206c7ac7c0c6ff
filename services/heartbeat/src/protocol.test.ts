import { encodeFrame, parseClientFrame } from './protocol';

const KEY = 'k'.repeat(43);

describe('parseClientFrame', () => {
  it('accepts ping and auth frames, ignoring extra fields', () => {
    expect(parseClientFrame('{"type":"ping"}', false)).toEqual({ frame: { type: 'ping' } });
    expect(parseClientFrame(Buffer.from(JSON.stringify({ type: 'auth', sessionKey: KEY, client: 'web/1.0' })), false)).toEqual({
      frame: { type: 'auth', sessionKey: KEY },
    });
  });

  it.each([
    ['binary data', Buffer.from([1, 2, 3]), true, 'binary-frame'],
    ['malformed JSON', '{"type":', false, 'malformed-json'],
    ['a JSON string', '"ping"', false, 'invalid-frame'],
    ['null', 'null', false, 'invalid-frame'],
    ['an array', '[{"type":"ping"}]', false, 'invalid-frame'],
    ['no type', '{"sessionKey":"x"}', false, 'invalid-frame'],
    ['a numeric type', '{"type":1}', false, 'invalid-frame'],
    ['an unknown type', '{"type":"subscribe"}', false, 'unknown-type'],
    ['an inherited property name as type', '{"type":"constructor"}', false, 'unknown-type'],
    ['auth without a key', '{"type":"auth"}', false, 'invalid-frame'],
    ['auth with a numeric key', '{"type":"auth","sessionKey":42}', false, 'invalid-frame'],
    ['auth with an empty key', '{"type":"auth","sessionKey":""}', false, 'invalid-frame'],
  ])('answers %s with an error code', (_name, data, isBinary, code) => {
    const result = parseClientFrame(data, isBinary);
    expect(result).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('names the bad field of a known frame', () => {
    expect(parseClientFrame('{"type":"auth","sessionKey":42}', false)).toEqual({
      error: { code: 'invalid-frame', message: expect.stringContaining('sessionKey') },
    });
  });

  it('keeps error messages short for a huge unknown type', () => {
    const result = parseClientFrame(JSON.stringify({ type: 'x'.repeat(3000) }), false);
    expect('error' in result && result.error.message.length).toBeLessThan(200);
  });
});

describe('encodeFrame', () => {
  it('writes JSON text', () => {
    expect(JSON.parse(encodeFrame({ type: 'welcome', memberId: 'm1', heartbeatIntervalMs: 15000 }))).toEqual({
      type: 'welcome',
      memberId: 'm1',
      heartbeatIntervalMs: 15000,
    });
  });
});
