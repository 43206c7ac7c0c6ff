import { z } from 'zod';

/** Core NATS subjects shared by the services; one place so a typo cannot split a conversation. */
export const SUBJECTS = {
  /** An APP instance announces itself (at start, and again when asked by app.discover). */
  appAnnounce: 'app.announce',
  /** An APP instance withdraws before it stops serving. */
  appWithdraw: 'app.withdraw',
  /** Every APP instance's load report, once a second: app.load.<instanceId>. */
  appLoad: (instanceId: string) => `app.load.${instanceId}`,
  appLoadAll: 'app.load.*',
  /** A balancer or operator asks every APP instance to announce itself again. */
  appDiscover: 'app.discover',
  /** A session was ended (logout, password change): every instance drops it from its caches. */
  sessionRevoked: 'session.revoked',
  /** Notifications for one member's open push connections: push.member.<memberId>. */
  pushMember: (memberId: string) => `push.member.${memberId}`,
  pushMemberAll: 'push.member.*',
  /** Online-member counts from each heartbeat instance. */
  heartbeatOnline: 'heartbeat.online',
  /** A scaling decision of the operator or the local autoscaler, for the operators' console. */
  autoscaleDecision: 'autoscale.decision',
  /** Each gateway's balancer view (its /lb/status), every few seconds, for the operators' console via the APP. */
  gatewayStatus: 'gateway.status',
} as const;

export const appAnnouncementSchema = z.object({
  id: z.string().min(1),
  /** Base URL the balancer forwards to, e.g. http://127.0.0.1:8101 */
  url: z.string().url(),
  /** Requests the instance serves at once before the balancer queues. */
  maxConcurrency: z.number().int().positive(),
  /** Kubernetes pod name when running in a cluster. */
  pod: z.string().optional(),
  startedAt: z.string(),
});
export type AppAnnouncement = z.infer<typeof appAnnouncementSchema>;

export const appWithdrawalSchema = z.object({ id: z.string().min(1), reason: z.string().optional() });
export type AppWithdrawal = z.infer<typeof appWithdrawalSchema>;

/** The load an APP instance reports every second (balancer and operator both read it). */
export const appLoadSchema = z.object({
  id: z.string().min(1),
  url: z.string().url(),
  pod: z.string().optional(),
  /** Requests being served right now. */
  inflight: z.number().nonnegative(),
  /** Requests completed per second over the last report interval. */
  rps: z.number().nonnegative(),
  /** Event-loop delay p99 over the interval, in milliseconds. */
  eventLoopDelayMs: z.number().nonnegative(),
  /** Event-loop utilization over the interval, 0..1. */
  eventLoopUtilization: z.number().min(0).max(1),
  /** p95 request latency over the interval, milliseconds. */
  p95LatencyMs: z.number().nonnegative(),
  /** Members seen in the last minute. */
  activeMembers: z.number().int().nonnegative(),
  maxConcurrency: z.number().int().positive(),
  draining: z.boolean(),
  /** ISO time of the report. */
  at: z.string(),
});
export type AppLoad = z.infer<typeof appLoadSchema>;

export const sessionRevokedSchema = z.object({
  /** SHA-256 of the session key (never the key itself). */
  sessionHash: z.string(),
  memberId: z.string(),
  reason: z.enum(['logout', 'password-changed', 'expired', 'admin']),
});
export type SessionRevoked = z.infer<typeof sessionRevokedSchema>;

export const pushNotificationSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string().optional(),
  body: z.unknown().optional(),
  at: z.string(),
});
export type PushNotification = z.infer<typeof pushNotificationSchema>;

/** A change of the APP replicas decided by the operator (Kubernetes) or the local autoscaler. */
export const autoscaleDecisionSchema = z.object({
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  /** The decision's reason, e.g. `ScaleUpInflight` (also the Kubernetes Event's reason). */
  reason: z.string().min(1),
  message: z.string(),
  /** UTC ISO time of the decision. */
  at: z.string(),
  /** `namespace/name` of the AppServiceGroup when the operator decided; absent for the local autoscaler. */
  group: z.string().optional(),
});
export type AutoscaleDecision = z.infer<typeof autoscaleDecisionSchema>;

/** A gateway's status message: `status` is its GET /lb/status (docs/gateway.md), passed on as is. */
export const gatewayStatusSchema = z.object({
  gateway: z.string().min(1).max(200),
  at: z.string(),
  status: z.record(z.string(), z.unknown()),
});
export type GatewayStatus = z.infer<typeof gatewayStatusSchema>;
