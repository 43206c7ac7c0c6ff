import { deductionKinds, deductionSubject, receiptSubject, smsSubject } from './contracts';
import { STREAMS, DURABLES } from './streams';
import { SUBJECTS } from './subjects';
import type { StreamDefinition } from './types';

/**
 * Who may say what on the bus: each service's NATS identity (a NATS user of that name) and the
 * subjects it publishes and subscribes. Declared once here; the nats-server configuration of the
 * tests and the chart (charts/evshare/files/nats-permissions.json, written by
 * `npm run nats-permissions`) are derived from it, so a compromised pod can do only what its
 * service does: web and the simulators have no NATS identity at all, only `app` may announce an
 * APP instance or report its load, and only the services that charge may publish a deduction of
 * their own kind.
 */
export const BUS_IDENTITIES = ['auth', 'app', 'gateway', 'heartbeat', 'billing', 'sms', 'telematics', 'charging', 'operator'] as const;
export type BusIdentity = (typeof BUS_IDENTITIES)[number];

export interface BusGrant {
  /** Core subjects (patterns) the identity publishes. */
  publish: string[];
  /** Core subjects (patterns) it subscribes to. */
  subscribe: string[];
  /** Stream subjects it publishes into with publishDurable. */
  publishDurable: string[];
  /** Durable consumers it runs. */
  consume: Array<{ stream: StreamDefinition; durable: string }>;
  /**
   * Streams whose configuration it keeps (creates and updates). Streams it only publishes into it
   * may create when missing but never change (Bus.ensureStreams with createOnly).
   */
  owns: StreamDefinition[];
}

const grant = (g: Partial<BusGrant>): BusGrant => ({ publish: [], subscribe: [], publishDurable: [], consume: [], owns: [], ...g });

export const BUS_PERMISSIONS: Record<BusIdentity, BusGrant> = {
  auth: grant({
    publish: [SUBJECTS.sessionRevoked],
    subscribe: [SUBJECTS.sessionRevoked],
    publishDurable: [smsSubject('verification-code')],
  }),
  app: grant({
    publish: [SUBJECTS.appAnnounce, SUBJECTS.appWithdraw, SUBJECTS.appLoadAll, SUBJECTS.pushMemberAll, SUBJECTS.sessionRevoked, SUBJECTS.vehicleCommandAll],
    subscribe: [SUBJECTS.appDiscover, SUBJECTS.sessionRevoked, SUBJECTS.autoscaleDecision, SUBJECTS.gatewayStatus, SUBJECTS.vehicleAckAll],
    // Every fee and the operators' manual deductions and refunds; charging sessions are billed by charging.
    publishDurable: [
      ...deductionKinds.filter((kind) => kind !== 'charging').map(deductionSubject),
      ...(['operator-notice', 'rental-started', 'rental-ended', 'reservation-expiring'] as const).map(smsSubject),
    ],
  }),
  gateway: grant({
    publish: [SUBJECTS.appDiscover, SUBJECTS.gatewayStatus],
    subscribe: [SUBJECTS.appAnnounce, SUBJECTS.appWithdraw, SUBJECTS.appLoadAll],
  }),
  heartbeat: grant({
    publish: [SUBJECTS.heartbeatOnline],
    subscribe: [SUBJECTS.pushMemberAll, SUBJECTS.sessionRevoked, SUBJECTS.vehicleStatusAll, SUBJECTS.vehicleAlertAll],
  }),
  billing: grant({
    publish: [SUBJECTS.pushMemberAll],
    publishDurable: [receiptSubject, smsSubject('debt'), smsSubject('low-balance')],
    consume: [{ stream: STREAMS.deductions, durable: DURABLES.billing }],
    owns: [STREAMS.deductions, STREAMS.events],
  }),
  sms: grant({
    consume: [{ stream: STREAMS.sms, durable: DURABLES.sms }],
    owns: [STREAMS.sms],
  }),
  telematics: grant({
    publish: [SUBJECTS.vehicleStatusAll, SUBJECTS.vehicleAlertAll, SUBJECTS.vehicleEventAll, SUBJECTS.vehicleAckAll, SUBJECTS.pushMemberAll],
    subscribe: [SUBJECTS.vehicleCommandAll],
    // A finished trip's fee; a device-facing pod may not refund or charge anything else. The
    // notices of what it alone sees: a walk-up start, the bill of a trip the car's record ended,
    // a low battery during a trip.
    publishDurable: [deductionSubject('rental'), ...(['rental-started', 'rental-ended', 'low-battery'] as const).map(smsSubject)],
  }),
  charging: grant({
    publish: [SUBJECTS.pileCallAll, SUBJECTS.pileConnectedAll, SUBJECTS.chargingReplyAll],
    subscribe: [SUBJECTS.pileCallAll, SUBJECTS.pileConnectedAll, SUBJECTS.chargingReplyAll, SUBJECTS.sessionRevoked],
    publishDurable: [deductionSubject('charging')],
  }),
  operator: grant({
    publish: [SUBJECTS.autoscaleDecision],
    subscribe: [SUBJECTS.appLoadAll],
  }),
};

export function isBusIdentity(name: string): name is BusIdentity {
  return (BUS_IDENTITIES as readonly string[]).includes(name);
}

/** The namespace prefix of stream and durable names for a subject prefix, as the NATS bus applies it. */
export function streamNamePrefix(subjectPrefix: string): string {
  return subjectPrefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
}

/** The reply-inbox prefix of an identity: its own, so no other identity can read its replies. */
export function inboxPrefix(identity: string, subjectPrefix = ''): string {
  return `_INBOX.${subjectPrefix}${identity}`;
}

/** The streams an identity's process sets up at start: `full` it owns, `createOnly` it only uses. */
export function streamsOf(identity: BusIdentity): { full: StreamDefinition[]; createOnly: StreamDefinition[] } {
  const g = BUS_PERMISSIONS[identity];
  const full = g.owns;
  const used = ALL_STREAM_LIST.filter(
    (stream) =>
      !full.includes(stream) && (g.consume.some((c) => c.stream === stream) || g.publishDurable.some((s) => stream.subjects.some((p) => coveredBy(p, s)))),
  );
  return { full, createOnly: used };
}

const ALL_STREAM_LIST: StreamDefinition[] = Object.values(STREAMS);

/** `subject` (a concrete subject or pattern) lies inside `pattern` (only `>` at the end matters here). */
function coveredBy(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
}

/**
 * The nats-server permissions of one identity: its core subjects, its durable publishes, and the
 * JetStream API subjects of exactly its streams and durables (`$JS.API.>` is never granted: it
 * would let a pod delete streams or read any consumer).
 */
export function natsPermissions(identity: BusIdentity, subjectPrefix = ''): NatsPermissions {
  const g = BUS_PERMISSIONS[identity];
  const wire = (subject: string) => subjectPrefix + subject;
  const names = streamNamePrefix(subjectPrefix);
  const { full, createOnly } = streamsOf(identity);
  const publish = [...g.publish, ...g.publishDurable].map(wire);
  for (const stream of [...full, ...createOnly]) {
    const s = names + stream.name;
    publish.push(`$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.INFO.${s}`);
    if (full.includes(stream)) publish.push(`$JS.API.STREAM.UPDATE.${s}`);
  }
  const subscribe = [...g.subscribe.map(wire), `${inboxPrefix(identity, subjectPrefix)}.>`];
  for (const { stream, durable } of g.consume) {
    const s = names + stream.name;
    const d = names + durable;
    publish.push(
      `$JS.API.CONSUMER.CREATE.${s}.${d}`,
      `$JS.API.CONSUMER.CREATE.${s}.${d}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${s}.${d}`,
      `$JS.API.CONSUMER.INFO.${s}.${d}`,
      `$JS.API.CONSUMER.MSG.NEXT.${s}.${d}`,
      // Reading a dead letter's payload back (the max-deliveries advisory names only its sequence).
      `$JS.API.STREAM.MSG.GET.${s}`,
      `$JS.ACK.${s}.${d}.>`,
    );
    subscribe.push(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${s}.${d}`);
  }
  return { publish: { allow: [...new Set(publish)] }, subscribe: { allow: [...new Set(subscribe)] } };
}

/** Every identity's permissions (the content of charts/evshare/files/nats-permissions.json). */
export function allNatsPermissions(subjectPrefix = ''): Record<BusIdentity, NatsPermissions> {
  return Object.fromEntries(BUS_IDENTITIES.map((identity) => [identity, natsPermissions(identity, subjectPrefix)])) as Record<BusIdentity, NatsPermissions>;
}

export interface NatsServerConfigOptions {
  /** Password of each identity that may connect; an identity left out has no user. */
  passwords: Partial<Record<BusIdentity, string>>;
  /** A user with every permission (the stack's own connection, test set-up); none when absent. */
  admin?: { user: string; password: string };
  port: number;
  /** JetStream store directory. */
  storeDir: string;
  subjectPrefix?: string;
}

/** A complete nats-server configuration with one user per identity (tests; the chart renders its own from the JSON). */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const users: unknown[] = [];
  for (const identity of BUS_IDENTITIES) {
    const password = options.passwords[identity];
    if (password !== undefined) users.push({ user: identity, password, permissions: natsPermissions(identity, options.subjectPrefix) });
  }
  if (options.admin) users.push({ user: options.admin.user, password: options.admin.password });
  return [
    `port: ${options.port}`,
    'host: 127.0.0.1',
    `jetstream { store_dir: ${JSON.stringify(options.storeDir)} }`,
    `authorization { users: ${JSON.stringify(users, null, 2)} }`,
    '',
  ].join('\n');
}
