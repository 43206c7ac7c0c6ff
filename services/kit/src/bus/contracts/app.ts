import { z } from 'zod';

/**
 * APP instances and the balancers (core NATS). Announcements, withdrawals and load reports are
 * signed by the APP (membership-signature.ts); the gateway and the operator read them.
 *
 *   app.announce         AppAnnouncement (at start, and again on app.discover)
 *   app.withdraw         AppWithdrawal (before the instance stops serving)
 *   app.load.<id>        AppLoad, once a second
 *   app.discover         AppDiscover (a balancer asks every instance to announce itself again)
 */
export const appSubjects = {
  announce: 'app.announce',
  withdraw: 'app.withdraw',
  load: (instanceId: string) => `app.load.${instanceId}`,
  loadAll: 'app.load.*',
  discover: 'app.discover',
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

/** The question itself carries nothing the APP acts on; every instance answers with its announcement. */
export const appDiscoverSchema = z.object({ from: z.string().min(1), at: z.string() });
export type AppDiscover = z.infer<typeof appDiscoverSchema>;
