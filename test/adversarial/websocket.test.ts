import fc from 'fast-check';
import { createCanary, exitedServices, type Canary } from '../support/canary';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { login } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { OPCODE, closeFrame, frame, rawUpgrade, send, untilClosed, upgradeHead } from '../support/raw-ws';

// Each test runs one property: FUZZ_SECONDS longer in a soak (make fuzz).
jest.setTimeout(fuzzTimeout(60_000));

/**
 * An anonymous internet client against the WebSocket endpoints, through the gateway of the real
 * platform with every service in its own process: hostile handshakes to /push and /ocpp/*, and
 * hostile frames once connected. Every request gets an HTTP error status, or 101 and then a proper
 * close; no connection hangs; no service exits; after each batch a member and a pile still work.
 */

/** How long any one answer may take; the push service's auth timeout is shorter (see env). */
const ANSWER_MS = 6_000;

const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const hex = fc.constantFrom(...'0123456789ABCDEFabcdefXZ%');
/** Percent-encoding, often broken: "%E0%A4%A", "%", "%ZZ", "%C3%A9". */
const percentJunk = fc
  .array(
    fc.oneof(
      fc.constant('%'),
      fc.tuple(hex, hex).map(([a, b]) => `%${a}${b}`),
      printable(3),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));
const identity = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,48}$/),
  percentJunk,
  fc.constant('%E0%A4%A'),
  fc.integer({ min: 49, max: 4_000 }).map((n) => 'x'.repeat(n)),
  printable(60).map(encodeURIComponent),
  fc.constantFrom('', '..', '.', 'a/b', 'a%2Fb', '%00', 'caf%C3%A9', '%F0%9F%94%8C', '*', 'a?b=c', '#frag'),
);
const target = fc.oneof(
  fc.constantFrom('/push', '/push?x=1', '/push/', '/PUSH', '/push%00', '/push/../push', '/ocpp', '/ocpp/', '//ocpp/a', '/ocpp/a/b'),
  identity.map((id) => `/ocpp/${id}`),
  percentJunk.map((junk) => `/push${junk}`),
);
const cookie = fc.oneof(
  percentJunk.map((v) => `evs_session=${v}`),
  fc.constant('evs_session=%E0%A4%A'),
  fc.tuple(percentJunk, percentJunk).map(([a, b]) => `evs_session=${a}; evs_session=${b}`),
  fc.integer({ min: 1_000, max: 12_000 }).map((n) => `evs_session=${'k'.repeat(n)}`),
  fc.constantFrom('EVS_SESSION=x', 'Evs_Session=%', 'evs_session', 'evs_session=', '=;=;;', 'evs_session="%E0"', ';;evs_session=;'),
  printable(200),
);
const subprotocols = fc.oneof(
  fc.constantFrom('ocpp1.6', 'ocpp1.6, ocpp2.0.1', 'ocpp2.0.1', '', ',', 'ocpp1.6,,ocpp1.6', 'ocpp1.6 ocpp1.6', 'OCPP1.6'),
  fc.array(printable(12), { maxLength: 40 }).map((list) => list.join(', ')),
);
const version = fc.constantFrom('13', '8', '', 'abc', '13, 8', '99999999999999999999', ' 13', '-1');
const key = fc.oneof(fc.constant(undefined), fc.constantFrom('', 'short', 'AAAAAAAAAAAAAAAAAAAAAA==', '!!!!!!!!!!!!!!!!!!!!!!!!'), printable(40));
const authorization = fc.oneof(
  fc.constantFrom('Basic', 'Basic !!!', 'Bearer', 'Bearer %E0%A4%A', 'Basic Og==', `Basic ${Buffer.from('x:'.padEnd(300, 'y')).toString('base64')}`),
  printable(80).map((v) => `Basic ${Buffer.from(v).toString('base64')}`),
  printable(80),
);

const handshake = fc.record(
  {
    target,
    cookies: fc.array(cookie, { maxLength: 3 }),
    protocol: subprotocols,
    version,
    key,
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'WEBSOCKET', 'websocket, h2c'),
    authorization,
    origin: fc.constantFrom('https://evil.example', 'null', 'http://[::1', ''),
  },
  { requiredKeys: ['target', 'cookies', 'upgrade'] },
);
type Handshake = typeof handshake extends fc.Arbitrary<infer T> ? T : never;

function headOf(h: Handshake, host: string): string {
  const fields: Array<[string, string]> = [['Upgrade', h.upgrade]];
  for (const value of h.cookies) fields.push(['Cookie', value]);
  if (h.protocol !== undefined) fields.push(['Sec-WebSocket-Protocol', h.protocol]);
  if (h.version !== undefined) fields.push(['Sec-WebSocket-Version', h.version]);
  if (h.key !== undefined) fields.push(['Sec-WebSocket-Key', h.key]);
  if (h.authorization !== undefined) fields.push(['Authorization', h.authorization]);
  if (h.origin !== undefined) fields.push(['Origin', h.origin]);
  return upgradeHead(h.target, host, fields);
}

/** One hostile frame, or a burst of them, as bytes; `stuck` frames announce more than they send. */
const hostileFrame = fc.oneof(
  fc.string({ maxLength: 200 }).map((text) => frame(OPCODE.text, Buffer.from(text))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => frame(OPCODE.text, Buffer.from(bytes))),
  fc.constant(frame(OPCODE.text, Buffer.from([0xc3, 0x28, 0xe0, 0xa4]))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => frame(OPCODE.binary, Buffer.from(bytes))),
  // Oversized: declared beyond every limit (push 4 KiB, OCPP 64 KiB), body never sent in full.
  fc.constantFrom(300 * 1024, 2 ** 32, 2 ** 53 - 1).map((n) => frame(OPCODE.text, Buffer.alloc(16, 0x61), { declaredLength: n })),
  fc.integer({ min: 4 * 1024 + 1, max: 300 * 1024 }).map((n) => frame(OPCODE.binary, Buffer.alloc(n, 0x62))),
  // Fragmentation: a start never finished, a continuation with no start, data inside a fragment.
  fc.string({ maxLength: 50 }).map((t) => frame(OPCODE.text, Buffer.from(t), { fin: false })),
  fc.string({ maxLength: 50 }).map((t) => frame(OPCODE.continuation, Buffer.from(t))),
  fc.string({ maxLength: 50 }).map((t) => Buffer.concat([frame(OPCODE.text, Buffer.from(t), { fin: false }), frame(OPCODE.text, Buffer.from(t))])),
  // Control frames: too long, fragmented, close with bad codes or bodies.
  fc.integer({ min: 126, max: 2_000 }).map((n) => frame(OPCODE.ping, Buffer.alloc(n))),
  fc.uint8Array({ maxLength: 125 }).map((bytes) => frame(OPCODE.ping, Buffer.from(bytes))),
  fc.constant(frame(OPCODE.ping, Buffer.alloc(4), { fin: false })),
  fc.uint8Array({ maxLength: 125 }).map((bytes) => frame(OPCODE.pong, Buffer.from(bytes))),
  fc.constantFrom(0, 999, 1004, 1005, 1006, 2999, 5000, 65535).map((code) => closeFrame(code)),
  fc.constant(frame(OPCODE.close, Buffer.from([0x03]))),
  fc.constant(frame(OPCODE.close, Buffer.from([0x03, 0xe8, 0xc3, 0x28]))),
  // Reserved opcodes and bits, unmasked client frames.
  fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15).map((op) => frame(op, Buffer.from('x'))),
  fc.integer({ min: 1, max: 7 }).map((rsv) => frame(OPCODE.text, Buffer.from('{"type":"ping"}'), { rsv })),
  fc.string({ maxLength: 50 }).map((t) => frame(OPCODE.text, Buffer.from(t), { mask: false })),
  // A flood of small frames in one write.
  fc.integer({ min: 50, max: 400 }).map((n) => Buffer.concat(Array.from({ length: n }, () => frame(OPCODE.text, Buffer.from('{"type":"ping"}'))))),
  // Valid protocol frames, to mix in.
  fc
    .constantFrom('{"type":"ping"}', '[2,"1","Heartbeat",{}]', '[2,"x","BootNotification",{"chargePointVendor":1}]', '[3,"nope",{}]', '[4]', '{}')
    .map((t) => frame(OPCODE.text, Buffer.from(t))),
);

describe('WebSocket endpoints under hostile clients (through the gateway, services as processes)', () => {
  let platform: TestPlatform;
  let gateway: string;
  let host: string;
  let canary: Canary;
  let memberKey: string;

  beforeAll(async () => {
    platform = await startTestPlatform({
      mode: 'processes',
      appInstances: 1,
      vehicleLink: false,
      env: { AUTH_TIMEOUT_MS: '1500', MAX_CONNECTIONS_PER_MEMBER: '50' },
    });
    gateway = platform.stack.gatewayUrl;
    host = new URL(gateway).host;
    canary = await createCanary(platform);
    memberKey = await login(gateway, platform.member.account, platform.member.password);
  }, 120_000);
  afterAll(() => platform?.stop());
  afterEach(async () => {
    expect(exitedServices(platform)).toEqual([]);
    await canary.check();
  });

  it('every hostile handshake gets an HTTP error status, or 101 and then a proper close', async () => {
    await checkProperty('websocket handshakes', 300, handshake, async (h) => {
      const reply = await rawUpgrade(gateway, headOf(h, host), ANSWER_MS);
      if (reply.status === undefined) throw new Error(`no status line: ${JSON.stringify(reply.head.slice(0, 200))}`);
      // A path with no WebSocket endpoint may be answered as a plain GET (the web pages), and 503
      // says "not now" (the UI not built, an instance draining); an internal error never.
      if (reply.status >= 500 && reply.status !== 503) throw new Error(`status ${reply.status}: ${reply.head.slice(0, 300)}`);
      // The two WebSocket endpoints answer a handshake with 101 or a client error, nothing else.
      const endpoint = h.target.split('?')[0] === '/push' || h.target.startsWith('/ocpp/');
      if (endpoint && reply.status !== 101 && (reply.status < 400 || reply.status >= 500)) throw new Error(`${h.target} answered ${reply.head.slice(0, 300)}`);
      if (reply.status === 101) {
        // The client says goodbye; the server must complete the close and end the connection.
        await send(reply.socket, closeFrame());
        await untilClosed(reply.socket, reply.rest, ANSWER_MS);
      } else if (/^connection:\s*close/im.test(reply.head)) await untilClosed(reply.socket, reply.rest, ANSWER_MS);
      else reply.socket.destroy();
    });
  });

  it('hostile frames on an authenticated /push connection end in a proper close', async () => {
    await checkProperty('websocket frames on /push', 150, fc.array(hostileFrame, { minLength: 1, maxLength: 5 }), async (frames) => {
      const reply = await rawUpgrade(gateway, upgradeHead('/push', host, [['Authorization', `Bearer ${memberKey}`]]), ANSWER_MS);
      if (reply.status !== 101) throw new Error(`push handshake answered ${reply.status}`);
      for (const bytes of frames) await send(reply.socket, bytes);
      await send(reply.socket, closeFrame());
      await untilClosed(reply.socket, reply.rest, ANSWER_MS);
    });
  });

  it('hostile frames on an accepted OCPP connection end in a proper close', async () => {
    const basic = `Basic ${Buffer.from(`${canary.spare.id}:${canary.spare.password}`).toString('base64')}`;
    await checkProperty('websocket frames on /ocpp', 100, fc.array(hostileFrame, { minLength: 1, maxLength: 5 }), async (frames) => {
      const reply = await rawUpgrade(
        gateway,
        upgradeHead(`/ocpp/${canary.spare.id}`, host, [
          ['Sec-WebSocket-Protocol', 'ocpp1.6'],
          ['Authorization', basic],
        ]),
        ANSWER_MS,
      );
      if (reply.status !== 101) throw new Error(`ocpp handshake answered ${reply.status}: ${reply.head.slice(0, 200)}`);
      for (const bytes of frames) await send(reply.socket, bytes);
      await send(reply.socket, closeFrame());
      await untilClosed(reply.socket, reply.rest, ANSWER_MS);
    });
  });
});
