import type { Express } from 'express';
import { autoscaleDecisionSchema, SUBJECTS, type AutoscaleDecision } from '@evshare/kit';
import type { AppContext, DomainHandle } from './service';

/** How many scaling decisions an instance keeps for the console. */
export const DECISIONS_KEPT = 50;

/**
 * The operators' view of scaling: the decisions of the Kubernetes operator or the local
 * autoscaler, heard on the bus. Kept in memory by each instance since it started (a console
 * aid, not a record: the Kubernetes Events and the logs are the record).
 */
export function mountClusterAdmin(app: Express, context: AppContext): DomainHandle {
  const { bus, log, authenticate, requireAdmin } = context;
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

  app.get('/api/v1/admin/cluster/decisions', authenticate, requireAdmin, (_req, res) => {
    res.json({ items: decisions });
  });

  return { stop: unsubscribe };
}
