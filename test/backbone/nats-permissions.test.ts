/**
 * Each service's NATS identity against a real nats-server configured from kit/bus/permissions.ts:
 * every identity can do what its service does through the kit's bus, and a compromised pod's
 * identity is refused by the server (permissions violations observed) for everything else —
 * money, APP announcements and load reports, other services' inboxes and consumers, the streams.
 */
import fc from 'fast-check';
import { connect, Events, type NatsConnection, type NatsError } from 'nats';
import {
  BUS_IDENTITIES,
  BUS_PERMISSIONS,
  createNatsBus,
  deductionSubject,
  DURABLES,
  inboxPrefix,
  natsPermissions,
  receiptSubject,
  smsSubject,
  streamsOf,
  STREAMS,
  SUBJECTS,
  type Bus,
  type BusIdentity,
} from '@evshare/kit';
import { subjectMatches } from '../../services/kit/src/bus/subject-match';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { eventually } from '../support/http';
import { startAuthNatsServer, type AuthNatsServer } from '../support/nats-server';

jest.setTimeout(fuzzTimeout(60_000));

let server: AuthNatsServer;
let admin: NatsConnection;
const buses: Bus[] = [];
const connections: NatsConnection[] = [];

/** A raw connection as a compromised pod would hold one, recording the server's refusals. */
interface Client {
  nc: NatsConnection;
  refusals: Array<{ operation: string; subject: string }>;
}

async function client(user: string, password: string): Promise<Client> {
  const nc = await connect({ servers: server.url, user, pass: password, inboxPrefix: inboxPrefix(user) });
  connections.push(nc);
  const refusals: Client['refusals'] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Error && status.data === 'PERMISSIONS_VIOLATION' && status.permissionContext) refusals.push({ ...status.permissionContext });
    }
  })();
  return { nc, refusals };
}

const as = (identity: BusIdentity) => client(identity, server.passwords[identity]);

async function bus(identity: BusIdentity): Promise<Bus> {
  const b = await createNatsBus({ url: server.url, name: identity, user: identity, password: server.passwords[identity], inboxPrefix: inboxPrefix(identity) });
  buses.push(b);
  return b;
}

/** A concrete subject inside a pattern. */
const concrete = (pattern: string, token = 'x1') => pattern.replace(/\*/g, token).replace(/>$/, token);

async function refused(c: Client, operation: 'publish' | 'subscription', subject: string): Promise<void> {
  await eventually(() => expect(c.refusals).toContainEqual({ operation, subject }), 5_000);
}

/** Resolves with what arrives on `subject` at the admin connection within `ms`. */
async function adminReceives(subject: string, send: () => void | Promise<void>, ms = 500): Promise<unknown[]> {
  const received: unknown[] = [];
  const sub = admin.subscribe(subject, { callback: (_e, m) => received.push(m.json()) });
  await admin.flush();
  await send();
  await new Promise((resolve) => setTimeout(resolve, ms));
  sub.unsubscribe();
  return received;
}

const deduction = {
  reference: 'attack:refund:1',
  memberId: '6f1c1c7e-3c0e-4d0f-9a53-1b0e7f7a0b11',
  kind: 'refund',
  amountFen: 1_000_000,
  description: 'free money',
  requestedBy: 'admin:me',
  at: new Date().toISOString(),
};

async function streamMessages(name: string): Promise<number> {
  const jsm = await admin.jetstreamManager();
  return (await jsm.streams.info(name)).state.messages;
}

beforeAll(async () => {
  server = await startAuthNatsServer();
  admin = await connect({ servers: server.url, user: server.admin.user, pass: server.admin.password });
  connections.push(admin);
}, 20_000);

afterAll(async () => {
  for (const b of buses) await b.close();
  for (const nc of connections) if (!nc.isClosed()) await nc.close();
  await server?.stop();
}, 20_000);

describe('the subjects the services build', () => {
  it.each([
    ['app', 'publish', SUBJECTS.vehicleCommand('LSVAB123')],
    ['telematics', 'subscribe', SUBJECTS.vehicleCommand('LSVAB123')],
    ['app', 'subscribe', SUBJECTS.vehicleAck('LSVAB123')],
    ['telematics', 'publish', SUBJECTS.vehicleAck('LSVAB123')],
    ['telematics', 'publish', SUBJECTS.vehicleStatus('LSVAB123')],
    ['telematics', 'publish', SUBJECTS.vehicleAlert('LSVAB123')],
    ['telematics', 'publish', SUBJECTS.vehicleEvent('LSVAB123')],
    ['heartbeat', 'subscribe', SUBJECTS.vehicleStatus('LSVAB123')],
    ['charging', 'publish', SUBJECTS.pileCall('CP-1')],
    ['charging', 'publish', SUBJECTS.pileConnected('CP-1')],
    ['charging', 'publish', SUBJECTS.chargingReply('charging-7f9c.pod')],
    ['charging', 'subscribe', SUBJECTS.chargingReply('charging-7f9c.pod')],
  ] as const)('%s may %s %s (the permissions match the builders)', (identity, direction, subject) => {
    expect(BUS_PERMISSIONS[identity][direction].some((pattern) => subjectMatches(pattern, subject))).toBe(true);
  });
});

describe('each identity can do what its service does', () => {
  it.each(BUS_IDENTITIES.map((id) => [id]))('%s: its publishes, subscriptions, streams and consumers work', async (identity) => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => w.name === 'BusPermissionWarning' && warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const b = await bus(identity);
      const streams = streamsOf(identity);
      await b.ensureStreams(streams.full);
      await b.ensureStreams(streams.createOnly, { createOnly: true });
      const grant = BUS_PERMISSIONS[identity];
      for (const pattern of grant.publish) {
        const subject = concrete(pattern);
        expect(await adminReceives(subject, () => b.publish(subject, { from: identity }))).toEqual([{ from: identity }]);
      }
      for (const pattern of grant.subscribe) {
        const got: unknown[] = [];
        b.subscribe(pattern, (data) => got.push(data));
        await b.flush();
        admin.publish(concrete(pattern), JSON.stringify({ to: identity }));
        await eventually(() => expect(got).toEqual([{ to: identity }]));
      }
      for (const subject of grant.publishDurable) {
        const ack = await b.publishDurable(subject, { from: identity }, `${identity}:${subject}`);
        expect(ack.seq).toBeGreaterThan(0);
      }
      for (const { stream, durable } of grant.consume) {
        const js = admin.jetstream();
        const subject = concrete(stream.subjects[0]!, `for-${identity}`);
        await js.publish(subject, JSON.stringify({ to: identity }), { msgID: `consume:${identity}` });
        const got: unknown[] = [];
        const consumer = await b.consume(stream.name, durable, async (m) => void (m.subject === subject && got.push(m.data)), { ackWaitMs: 2_000 });
        await eventually(() => expect(got).toEqual([{ to: identity }]), 10_000);
        const jsm = await admin.jetstreamManager();
        await eventually(async () => expect((await jsm.consumers.info(stream.name, durable)).num_ack_pending).toBe(0));
        await consumer.stop();
      }
      await b.flush();
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a compromised pod', () => {
  it('web and the simulators have no NATS user: a connection without one, or with a wrong password, is refused', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    await expect(connect({ servers: server.url, user: 'app', pass: 'guessed', reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    await expect(connect({ servers: server.url, user: 'web', pass: 'web', reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
  });

  it.each(['heartbeat', 'sms', 'telematics', 'charging', 'gateway', 'auth'] as const)('as %s cannot publish a refund into DEDUCTIONS', async (identity) => {
    const c = await as(identity);
    await b0(STREAMS.deductions.name);
    const before = await streamMessages(STREAMS.deductions.name);
    c.nc.publish(deductionSubject('refund'), JSON.stringify(deduction));
    await refused(c, 'publish', deductionSubject('refund'));
    await expect(c.nc.jetstream().publish(deductionSubject('refund'), JSON.stringify(deduction), { msgID: 'attack', timeout: 1_000 })).rejects.toBeDefined();
    expect(await streamMessages(STREAMS.deductions.name)).toBe(before);
  });

  it.each(['heartbeat', 'sms', 'telematics', 'charging', 'auth', 'billing', 'operator', 'gateway'] as const)(
    'as %s cannot announce a rogue APP instance, report its load or withdraw a real one',
    async (identity) => {
      const gateway = await bus('gateway');
      const seen: string[] = [];
      for (const subject of [SUBJECTS.appAnnounce, SUBJECTS.appLoadAll, SUBJECTS.appWithdraw]) gateway.subscribe(subject, (_d, s) => seen.push(s));
      await gateway.flush();
      const c = await as(identity);
      const rogue = { id: 'rogue', url: 'http://attacker.example:80', maxConcurrency: 1000, startedAt: new Date().toISOString() };
      c.nc.publish(SUBJECTS.appAnnounce, JSON.stringify(rogue));
      c.nc.publish(SUBJECTS.appLoad('rogue'), JSON.stringify({ ...rogue, inflight: 0 }));
      c.nc.publish(SUBJECTS.appWithdraw, JSON.stringify({ id: 'app-1' }));
      await refused(c, 'publish', SUBJECTS.appAnnounce);
      await refused(c, 'publish', SUBJECTS.appLoad('rogue'));
      await refused(c, 'publish', SUBJECTS.appWithdraw);
      await c.nc.flush();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen).toEqual([]);
    },
  );

  it("as heartbeat cannot read another service's replies or pull billing's deductions", async () => {
    const c = await as('heartbeat');
    c.nc.subscribe('_INBOX.>');
    c.nc.subscribe(`${inboxPrefix('billing')}.>`);
    c.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAMS.deductions.name}.${DURABLES.billing}`);
    c.nc.subscribe(STREAMS.deductions.subjects[0]!);
    await refused(c, 'subscription', '_INBOX.>');
    await refused(c, 'subscription', `${inboxPrefix('billing')}.>`);
    await refused(c, 'subscription', STREAMS.deductions.subjects[0]!);
    for (const subject of [
      `$JS.API.CONSUMER.MSG.NEXT.${STREAMS.deductions.name}.${DURABLES.billing}`,
      `$JS.API.CONSUMER.CREATE.${STREAMS.deductions.name}.spy`,
      `$JS.API.STREAM.MSG.GET.${STREAMS.deductions.name}`,
    ]) {
      c.nc.publish(subject, JSON.stringify({ batch: 1 }), { reply: `${inboxPrefix('heartbeat')}.x` });
      await refused(c, 'publish', subject);
    }
  });

  it.each(['heartbeat', 'telematics', 'app', 'charging', 'auth'] as const)('as %s cannot change, purge or delete the DEDUCTIONS stream', async (identity) => {
    const c = await as(identity);
    await b0(STREAMS.deductions.name);
    for (const action of ['UPDATE', 'PURGE', 'DELETE']) {
      const subject = `$JS.API.STREAM.${action}.${STREAMS.deductions.name}`;
      c.nc.publish(subject, JSON.stringify({ name: STREAMS.deductions.name, subjects: ['nothing.>'] }));
      await refused(c, 'publish', subject);
    }
    const jsm = await admin.jetstreamManager();
    expect((await jsm.streams.info(STREAMS.deductions.name)).config.subjects).toEqual(STREAMS.deductions.subjects);
  });

  it("as sms cannot read members' push notifications, and as telematics cannot send vehicle commands", async () => {
    const sms = await as('sms');
    sms.nc.subscribe(SUBJECTS.pushMemberAll);
    await refused(sms, 'subscription', SUBJECTS.pushMemberAll);
    const telematics = await as('telematics');
    telematics.nc.publish(SUBJECTS.vehicleCommand('LSVAB123'), JSON.stringify({ commandId: 'x', vin: 'LSVAB123', action: 'unlock' }));
    await refused(telematics, 'publish', SUBJECTS.vehicleCommand('LSVAB123'));
  });

  it('the server refuses exactly what the declared permissions leave out (generated subjects)', async () => {
    const clients = Object.fromEntries(await Promise.all(BUS_IDENTITIES.map(async (id) => [id, await as(id)] as const))) as Record<BusIdentity, Client>;
    const patterns = [...new Set(BUS_IDENTITIES.flatMap((id) => natsPermissions(id).publish.allow))];
    const subjects = fc.oneof(
      fc.tuple(fc.constantFrom(...patterns), fc.stringMatching(/^[a-z0-9-]{1,8}$/)).map(([p, t]) => concrete(p, t)),
      fc.constantFrom(
        deductionSubject('refund'),
        deductionSubject('manual'),
        SUBJECTS.appAnnounce,
        SUBJECTS.appLoad('rogue'),
        SUBJECTS.pushMember('m1'),
        '$JS.API.STREAM.DELETE.DEDUCTIONS',
        '$JS.API.STREAM.LIST',
        smsSubject('debt'),
        receiptSubject,
      ),
    );
    let n = 0;
    await checkProperty('nats publish permissions', 40, fc.constantFrom(...BUS_IDENTITIES), subjects, async (identity, subject) => {
      const allowed = natsPermissions(identity).publish.allow.some((p) => subjectMatches(p, subject));
      const c = clients[identity];
      const payload = `probe-${n++}`;
      const got = await adminReceives(subject, () => c.nc.publish(subject, JSON.stringify(payload)), 100);
      const wasRefused = c.refusals.some((r) => r.operation === 'publish' && r.subject === subject);
      if (allowed) return got.includes(payload) && !wasRefused;
      await refused(c, 'publish', subject);
      return !got.includes(payload);
    });
  });
});

/** Makes sure a stream exists (created by the admin when no identity test made it yet). */
async function b0(name: string): Promise<void> {
  const jsm = await admin.jetstreamManager();
  const definition = Object.values(STREAMS).find((s) => s.name === name)!;
  await jsm.streams.add({ name, subjects: definition.subjects }).catch((error: NatsError) => {
    if (error.api_error?.err_code !== 10058) throw error;
  });
}
