import os from 'node:os';
import client from 'prom-client';
import { z } from 'zod';
import {
  Admission,
  admissionEnv,
  admissionSettings,
  createHealth,
  createHttpApp,
  createMetrics,
  env,
  listen,
  Problem,
  pushNotificationSchema,
  SUBJECTS,
  type Bus,
  type Logger,
  type RunningService,
  type SessionStore,
  type OnlineReport,
} from '@evshare/kit';
import { createPushServer, PUSH_PATH, type CloseCause } from './push-server';
import { watchVehicles } from './vehicles';

export const heartbeatConfigSchema = z.object({
  PORT: env.port(8083),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  /** Names this instance in online reports and metrics; the pod name in Kubernetes. */
  INSTANCE_ID: z
    .string()
    .min(1)
    .default(() => `heartbeat-${os.hostname()}-${process.pid}`),
  /** The server pings every connection this often; two silent intervals mean the connection is dead. */
  HEARTBEAT_INTERVAL_MS: env.positiveInt(15_000),
  /** Time allowed between the upgrade and a valid session (cookie, header or auth frame). */
  AUTH_TIMEOUT_MS: env.positiveInt(5_000),
  MAX_CONNECTIONS_PER_MEMBER: env.positiveInt(10),
  ONLINE_REPORT_INTERVAL_MS: env.positiveInt(5_000),
  ...admissionEnv,
  /** The sessions' sliding expiry; must equal the auth service's, since a heartbeat rewrites it. */
  SESSION_TTL_MS: env.durationMs(30 * 60_000),
  /** A connection whose client sends no ping frames has its session looked up again this often. */
  SESSION_RECHECK_MS: env.positiveInt(60_000),
  /** Frames per second a client may send, and the burst above it. */
  CLIENT_FRAMES_PER_SECOND: env.positiveInt(5),
  CLIENT_FRAME_BURST: env.positiveInt(20),
  /** Which proxies may set X-Forwarded-For (the kit's TRUST_PROXY: false, true for one hop, a number of hops, addresses and CIDR ranges). */
  TRUST_PROXY: env.trustProxy('loopback'),
  /** Origins whose pages may use the session cookie; empty: only the host the request was sent to. */
  ALLOWED_ORIGINS: env.list(),
  /** How long stop() waits for clients to answer the close frame before cutting them off. */
  SHUTDOWN_CLOSE_TIMEOUT_MS: env.positiveInt(3_000),
});

export type HeartbeatConfig = z.infer<typeof heartbeatConfigSchema>;

export type HeartbeatService = RunningService & { online(): { members: number; connections: number } };

/**
 * The heartbeat and message-push service (patent claim 1): members' WebSocket connections on
 * /push, whose heartbeats keep their session alive, receive the notifications published on the
 * bus for them (push.member.<memberId>), and are closed as soon as their session is revoked.
 */
export async function startHeartbeat(deps: { config: HeartbeatConfig; log: Logger; bus: Bus; sessions: SessionStore }): Promise<HeartbeatService> {
  const { config, log, bus, sessions } = deps;
  const health = createHealth();
  health.addCheck('bus', () => bus.ping());
  const metrics = createMetrics('heartbeat', config.INSTANCE_ID);

  const closedTotal = new client.Counter({
    name: 'push_connections_closed_total',
    help: 'Push connections ended, by cause',
    labelNames: ['cause'] as const,
    registers: [metrics.registry],
  });
  const notificationsTotal = new client.Counter({
    name: 'push_notifications_total',
    help: 'Notifications received from the bus, by outcome on this instance',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });

  const push = createPushServer({
    log,
    sessions,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    authTimeoutMs: config.AUTH_TIMEOUT_MS,
    maxConnectionsPerMember: config.MAX_CONNECTIONS_PER_MEMBER,
    sessionRecheckMs: config.SESSION_RECHECK_MS,
    trustProxy: config.TRUST_PROXY,
    allowedOrigins: config.ALLOWED_ORIGINS,
    rateLimit: { ratePerSecond: config.CLIENT_FRAMES_PER_SECOND, burst: config.CLIENT_FRAME_BURST },
    onClosed: (cause: CloseCause) => closedTotal.inc({ cause }),
    // The same rule as every HTTP request (kit admission): its own slots, the same metrics, tier "heartbeat-upgrade".
    admission: {
      deadlineCapMs: config.REQUEST_DEADLINE_MS,
      admission: new Admission({
        slots: config.ADMISSION_SLOTS,
        onAdmitted: (waitedMs) => metrics.admissionWait.labels('heartbeat-upgrade').observe(waitedMs / 1000),
        onShed: (reason) => metrics.admissionShed.labels('heartbeat-upgrade', reason).inc(),
      }),
    },
  });

  new client.Gauge({
    name: 'push_online_members',
    help: 'Members with at least one authenticated push connection on this instance',
    registers: [metrics.registry],
    collect() {
      this.set(push.online().members);
    },
  });
  new client.Gauge({
    name: 'push_connections',
    help: 'Authenticated push connections on this instance',
    registers: [metrics.registry],
    collect() {
      this.set(push.online().connections);
    },
  });

  const report = (): OnlineReport => ({ instance: config.INSTANCE_ID, ...push.online(), at: new Date().toISOString() });

  const app = createHttpApp({
    log,
    metrics,
    health,
    trustProxy: config.TRUST_PROXY,
    admission: admissionSettings('heartbeat', config),
    routes: (routes) => {
      routes.get('/online', (_req, res) => {
        res.json(report());
      });
      routes.get(PUSH_PATH, (_req, res, next) => {
        res.setHeader('Upgrade', 'websocket');
        next(new Problem(426, 'upgrade-required', 'Upgrade required', `${PUSH_PATH} is a WebSocket endpoint; open it with a WebSocket client`));
      });
    },
  });

  const memberPrefix = SUBJECTS.pushMember('');
  const unsubscribe = bus.subscribe(SUBJECTS.pushMemberAll, (data, subject) => {
    const parsed = pushNotificationSchema.safeParse(data);
    if (!parsed.success) {
      notificationsTotal.inc({ outcome: 'invalid' });
      log.warn({ subject, issues: parsed.error.issues.slice(0, 3) }, 'dropped an invalid push notification');
      return;
    }
    const delivered = push.deliver(subject.slice(memberPrefix.length), parsed.data);
    notificationsTotal.inc({ outcome: delivered > 0 ? 'delivered' : 'no-connection' });
  });
  const stopVehicles = watchVehicles({ bus, log, metrics, push });
  const stopRevocations = sessions.onRevoked((event) => push.revoke(event.sessionHash, event.reason));

  const publishOnline = (snapshot: OnlineReport) => {
    try {
      bus.publish(SUBJECTS.heartbeatOnline, snapshot);
    } catch (error) {
      log.warn({ err: error }, 'online report not published');
    }
  };
  const reporter = setInterval(() => publishOnline(report()), config.ONLINE_REPORT_INTERVAL_MS);

  let running;
  try {
    running = await listen(app, config.PORT, config.HOST);
  } catch (error) {
    clearInterval(reporter);
    unsubscribe();
    stopVehicles();
    stopRevocations();
    await push.close(0);
    throw error;
  }
  const server = running.server;
  server.on('upgrade', push.handleUpgrade);
  publishOnline(report());

  let stopped: Promise<void> | undefined;
  return {
    name: 'heartbeat',
    url: running.url,
    port: running.port,
    health,
    online: () => push.online(),
    stop() {
      stopped ??= (async () => {
        health.startDraining();
        clearInterval(reporter);
        unsubscribe();
        stopVehicles();
        stopRevocations();
        await push.close(config.SHUTDOWN_CLOSE_TIMEOUT_MS);
        // A last report of zero, so whoever sums the instances' reports drops this one at once.
        publishOnline({ instance: config.INSTANCE_ID, members: 0, connections: 0, at: new Date().toISOString() });
        server.off('upgrade', push.handleUpgrade);
        await running.close();
      })();
      return stopped;
    },
  };
}
