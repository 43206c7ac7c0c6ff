import { z } from 'zod';
import { int } from './common';

// As heard on the bus and passed on unchanged (kit/bus/subjects.ts validates them there).
export const scalingDecision = z
  .object({
    from: int.describe('Replicas before'),
    to: int.describe('Replicas decided'),
    reason: z.string().meta({ examples: ['ScaleUp', 'ScaleDown'] }),
    message: z.string(),
    at: z.string().describe('UTC ISO time of the decision'),
    group: z.string().optional().describe('`namespace/name` of the AppServiceGroup (operator only)'),
  })
  .meta({ id: 'ScalingDecision' });
const lbUpstream = z.object({ id: z.string(), url: z.string(), health: z.enum(['up', 'down']), reason: z.string(), inflight: int, served: int, errors: int });
export const LB_EVENT_KINDS = ['joined', 'withdrawn', 'draining', 'resumed', 'ejected', 'readmitted', 'removed'] as const;
export const lbEvent = z.object({ at: z.string(), instance: z.string(), event: z.enum(LB_EVENT_KINDS), reason: z.string() });
/** A gateway's GET /lb/status document (services/gateway/src/status.ts, docs/gateway.md). */
export const lbStatus = z
  .object({
    balancer: z.object({
      algorithm: z.string(),
      balanceFactor: z.number(),
      minLoad: z.number(),
      vnodes: int,
      trustProxy: z.string(),
      panic: z.boolean().describe('Fewer than half of the live instances pass their checks, so every live one is taken (panic mode)'),
    }),
    instances: z.array(
      z.object({
        id: z.string(),
        url: z.string(),
        source: z.enum(['static', 'announce', 'report']),
        health: z.enum(['up', 'down', 'draining']),
        available: z.boolean(),
        reason: z.string(),
        since: z.string(),
        inflight: int,
        foreignLoad: z.number(),
        maxConcurrency: int,
        reported: z
          .object({
            inflight: z.number(),
            rps: z.number(),
            eventLoopDelayMs: z.number(),
            eventLoopUtilization: z.number(),
            p95LatencyMs: z.number(),
            activeMembers: z.number(),
          })
          .nullable(),
        lastReportAgeMs: z.number().nullable(),
        ringShare: z.number(),
        served: int,
        errors: int,
      }),
    ),
    totals: z.object({ instances: int, available: int, inflight: int, served: int, retries: int, ejections: int, rejected: int }),
    queue: z.object({
      length: int,
      clients: int,
      max: int,
      perClient: int,
      timeoutMs: int,
      // Optional: a gateway from before admission by queue time does not send them.
      drainPerSecond: z.number().nullable().optional().describe("The APP pool's completions per second lately (how fast the queue drains); null until known"),
      expectedWaitMs: z.number().nullable().optional().describe('How long the queue takes to drain at that rate; null while unknown or unbounded'),
    }),
    upstreams: z.object({ auth: z.array(lbUpstream), push: z.array(lbUpstream), charging: z.array(lbUpstream), web: z.array(lbUpstream) }),
    events: z.array(lbEvent).describe('The last 50 membership and health decisions, newest first'),
  })
  .meta({ id: 'LbStatus' });
export const gatewayStatus = z
  .object({
    gateway: z.string().describe('The gateway (host and public port)'),
    at: z.string().describe('UTC ISO time of the status'),
    status: lbStatus,
  })
  .meta({ id: 'GatewayStatus' });

export type ScalingDecision = z.output<typeof scalingDecision>;
export type GatewayStatusView = z.output<typeof gatewayStatus>;
export type LbStatus = z.output<typeof lbStatus>;
export type LbEvent = z.output<typeof lbEvent>;
