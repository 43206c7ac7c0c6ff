import http from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import { ALL_STREAMS, createNatsBus, createPool, smsSubject, type Bus, type Pool, type SmsMessage } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { createHttpProvider, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '@evshare/sms';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { eventually } from '../support/http';
import { startQueueServices, uniquePhone } from './support';

const KEY = 'gateway-signing-key-0123456789';

/**
 * A stand-in for a real SMS gateway: checks the signature, refuses the first `failFirst`
 * attempts of every message with 503, and always refuses phones ending in 99.
 */
function startFakeGateway(failFirst: number) {
  const attempts = new Map<string, number>();
  const accepted: Array<{ reference: string; phone: string; text: string }> = [];
  let badSignatures = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = createHmac('sha256', KEY)
        .update(`${String(req.headers[TIMESTAMP_HEADER])}.${body}`)
        .digest('hex');
      if (req.headers[SIGNATURE_HEADER] !== expected) {
        badSignatures++;
        res.writeHead(401).end('{"error":"bad signature"}');
        return;
      }
      const message = JSON.parse(body) as { reference: string; phone: string; text: string };
      const n = (attempts.get(message.reference) ?? 0) + 1;
      attempts.set(message.reference, n);
      if (n <= failFirst || message.phone.endsWith('99')) {
        res.writeHead(503).end('{"error":"try later"}');
        return;
      }
      accepted.push(message);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `gw-${accepted.length}` }));
    });
  });
  return new Promise<{ url: string; accepted: typeof accepted; attempts: typeof attempts; badSignatures: () => number; close(): Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${address.port}/send`,
        accepted,
        attempts,
        badSignatures: () => badSignatures,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('SMS service with an HTTP gateway', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Pool;
  let bus: Bus;
  let gateway: Awaited<ReturnType<typeof startFakeGateway>>;
  let services: Awaited<ReturnType<typeof startQueueServices>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPool(database.url, { max: 2 });
    await migrateDatabase(db);
    gateway = await startFakeGateway(2);
    env = testEnvironment(database.url, {
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: gateway.url,
      SMS_HTTP_SIGNING_KEY: KEY,
      SMS_MAX_ATTEMPTS: '4',
      SMS_HTTP_TIMEOUT_MS: '2000',
      SMS_CODE_LIMIT_PER_MINUTE: '10',
    });
    services = await startQueueServices(env, { billing: false });
    bus = await createNatsBus({ url: env.NATS_URL!, prefix: env.NATS_SUBJECT_PREFIX });
    await bus.ensureStreams(ALL_STREAMS);
  });
  afterAll(async () => {
    await services?.stop();
    await bus?.close();
    await gateway?.close();
    await db?.end();
    await database?.drop();
  });

  const send = async (phone: string, template: SmsMessage['template'], params: SmsMessage['params'], locale: SmsMessage['locale'] = 'en') => {
    const message: SmsMessage = { reference: `test:${randomUUID()}`, phone, template, locale, params, at: new Date().toISOString() };
    await bus.publishDurable(smsSubject(template), message, message.reference);
    return message.reference;
  };
  const logOf = async (reference: string) =>
    (
      await db.query<{ status: string; attempts: number; body: string; provider_id: string | null; last_error: string | null }>(
        'SELECT * FROM sms_log WHERE reference = $1',
        [reference],
      )
    ).rows[0];

  it('retries a failing gateway with backoff until it accepts, signed every time', async () => {
    const reference = await send(uniquePhone(), 'rental-ended', { plate: '沪A12345', feeFen: 2_350 }, 'zh-CN');
    await eventually(async () => expect(await logOf(reference)).toMatchObject({ status: 'sent', attempts: 3 }), 15_000, 100);
    const delivered = gateway.accepted.find((m) => m.reference === reference);
    expect(delivered?.text).toBe('【evshare】您本次用车 沪A12345 已结束，费用 ¥23.50。');
    expect((await logOf(reference))?.provider_id).toMatch(/^gw-/);
    expect(gateway.badSignatures()).toBe(0);
  });

  it('gives up after SMS_MAX_ATTEMPTS and marks the message dead', async () => {
    const phone = `${uniquePhone().slice(0, -2)}99`;
    const reference = await send(phone, 'debt', { debtFen: 1_000 });
    await eventually(async () => expect(await logOf(reference)).toMatchObject({ status: 'dead', attempts: 4 }), 20_000, 100);
    expect((await logOf(reference))?.last_error).toMatch(/503/);
    expect(gateway.attempts.get(reference)).toBe(4);
  });

  it('does not store a live verification code when a real gateway sends it', async () => {
    const reference = await send(uniquePhone(), 'verification-code', { code: '482913', minutes: 5 });
    await eventually(async () => expect(await logOf(reference)).toMatchObject({ status: 'sent' }), 15_000, 100);
    expect((await logOf(reference))?.body).not.toContain('482913');
    expect(gateway.accepted.find((m) => m.reference === reference)?.text).toContain('482913');
  });

  it('limits notices per phone (5 a minute), verification codes only by their global budget', async () => {
    const phone = uniquePhone();
    const notices: string[] = [];
    for (let i = 0; i < 7; i++) notices.push(await send(phone, 'operator-notice', { text: `notice ${i}` }));
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push(await send(phone, 'verification-code', { code: `11111${i}`, minutes: 5 }));
    await eventually(
      async () => {
        const statuses = await Promise.all([...notices, ...codes].map(async (r) => (await logOf(r))?.status));
        expect(statuses).toEqual(['sent', 'sent', 'sent', 'sent', 'sent', 'limited', 'limited', 'sent', 'sent', 'sent']);
      },
      30_000,
      200,
    );
  });

  it('SMS pumping global: verification codes beyond the global budget per minute are not sent', async () => {
    // Codes for many phones (as the auth service's limits would let through from many addresses).
    const references = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(uniquePhone(), 'verification-code', { code: `20000${i % 10}`, minutes: 5 })),
    );
    let rows: Array<{ status: string; last_error: string | null } | undefined> = [];
    await eventually(
      async () => {
        rows = await Promise.all(references.map(logOf));
        expect(rows.every((r) => r?.status === 'sent' || r?.status === 'limited')).toBe(true);
      },
      30_000,
      200,
    );
    const limited = rows.filter((r) => r!.status === 'limited');
    // At most 10 a minute, whatever was sent before in this window.
    expect(limited.length).toBeGreaterThanOrEqual(2);
    for (const row of limited) expect(row!.last_error).toMatch(/global per-minute limit for verification codes/);
    expect(gateway.accepted.filter((m) => references.includes(m.reference)).length).toBe(12 - limited.length);
  });

  it('a message published twice is sent once', async () => {
    const phone = uniquePhone();
    const message: SmsMessage = {
      reference: `test:${randomUUID()}`,
      phone,
      template: 'low-balance',
      locale: 'en',
      params: { balanceFen: 990 },
      at: new Date().toISOString(),
    };
    await bus.publishDurable(smsSubject('low-balance'), message, message.reference);
    await eventually(async () => expect(await logOf(message.reference)).toMatchObject({ status: 'sent' }), 15_000, 100);
    await bus.publishDurable(smsSubject('low-balance'), message, `${message.reference}#again`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gateway.accepted.filter((m) => m.reference === message.reference)).toHaveLength(1);
  });

  it('a gateway that refuses the signature is a permanent failure', async () => {
    const provider = createHttpProvider({ url: gateway.url, signingKey: 'another-key-0123456789', timeoutMs: 2000 });
    await expect(provider.send({ reference: 'x', phone: '13900000000', body: 'hi' })).rejects.toMatchObject({ permanent: true });
    expect(gateway.badSignatures()).toBe(1);
  });
});
