import { z } from 'zod';

/**
 * What the operators' console shows of the cluster, relayed by the APP:
 *
 *   autoscale.decision   AutoscaleDecision (operator or local autoscaler)
 *   gateway.status       GatewayStatus (each gateway's /lb/status, every few seconds)
 */
export const clusterSubjects = {
  autoscaleDecision: 'autoscale.decision',
  gatewayStatus: 'gateway.status',
} as const;

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
