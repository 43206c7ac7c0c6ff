import { autoscaleDecisionSchema, gatewayStatusSchema, route, SUBJECTS, type AutoscaleDecision, type GatewayStatus } from '@evshare/kit';
import { clusterOperations } from '@evshare/api';
import type { AppContext, DomainMount } from './context';

/** How many scaling decisions an instance keeps for the console. */
export const DECISIONS_KEPT = 50;

/** A gateway not heard from for this long is left out of the balancer view (it publishes every 2 s). */
export const GATEWAY_STATUS_MAX_AGE_MS = 10_000;

/** Gateways the view keeps at once (a bound on what the bus can make an instance hold). */
const GATEWAYS_KEPT = 32;

/**
 * The operators' view of scaling: the decisions of the Kubernetes operator or the local
 * autoscaler, heard on the bus. Kept in memory by each instance since it started (a console
 * aid, not a record: the Kubernetes Events and the logs are the record).
 */
export function mountClusterAdmin(context: AppContext): DomainMount {
  const { bus, log } = context;
  const decisions: AutoscaleDecision[] = [];
  const unsubscribe = bus.subscribe(SUBJECTS.autoscaleDecision, (data) => {
    const parsed = autoscaleDecisionSchema.safeParse(data);
    if (!parsed.success) {
      log.debug({ issues: parsed.error.issues }, 'ignoring a malformed scaling decision');
      return;
    }
    decisions.unshift(parsed.data);
    if (decisions.length > DECISIONS_KEPT) decisions.length = DECISIONS_KEPT;
  });
  // The balancer's view (each gateway's /lb/status), which the gateways serve only on their
  // operators' listener: the console reads it here, behind the operator role.
  const gateways = new Map<string, { message: GatewayStatus; heardAt: number }>();
  const unsubscribeStatus = bus.subscribe(SUBJECTS.gatewayStatus, (data) => {
    const parsed = gatewayStatusSchema.safeParse(data);
    if (!parsed.success) {
      log.debug({ issues: parsed.error.issues }, 'ignoring a malformed gateway status');
      return;
    }
    const now = Date.now();
    for (const [id, entry] of gateways) if (now - entry.heardAt > GATEWAY_STATUS_MAX_AGE_MS) gateways.delete(id);
    if (!gateways.has(parsed.data.gateway) && gateways.size >= GATEWAYS_KEPT) return;
    gateways.set(parsed.data.gateway, { message: parsed.data, heardAt: now });
  });

  return {
    routes: [
      route(clusterOperations.decisions, (_input, _req, res) => {
        res.json({ items: decisions });
      }),
      route(clusterOperations.balancer, (_input, _req, res) => {
        const now = Date.now();
        const items = [...gateways.values()]
          .filter((entry) => now - entry.heardAt <= GATEWAY_STATUS_MAX_AGE_MS)
          .sort((a, b) => b.heardAt - a.heardAt)
          .map((entry) => entry.message);
        res.json({ items });
      }),
    ],
    stop: () => {
      unsubscribe();
      unsubscribeStatus();
    },
  };
}
