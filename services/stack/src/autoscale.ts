import { SUBJECTS, appLoadSchema, type AutoscaleDecision, type Bus, type Logger } from '@evshare/kit';
import {
  DEFAULT_BEHAVIOR,
  createLoadStore,
  decideReplicas,
  isSignificantChange,
  podDeletionCost,
  type LoadTarget,
  type Recommendation,
  type ScaleEvent,
  type ScalingBehavior,
  type ScalingDecision,
} from '@evshare/operator';
import type { Stack } from './stack';

export interface LocalAutoscalerOptions {
  bus: Bus;
  stack: Stack;
  log: Logger;
  minReplicas: number;
  maxReplicas: number;
  target: LoadTarget;
  behavior?: ScalingBehavior;
  intervalMs?: number;
}

/**
 * The local actuator: the operator's scaling decision, acting on APP instances of this machine
 * instead of a Deployment. It reads the same load reports, starts instances on a scale-up and, on
 * a scale-down, stops the instance whose removal disturbs the fewest members (the operator's
 * pod-deletion cost), so autoscaling can be watched with `make run`.
 */
export function startLocalAutoscaler(options: LocalAutoscalerOptions) {
  const { bus, stack, log, target } = options;
  const behavior = options.behavior ?? DEFAULT_BEHAVIOR;
  const loads = createLoadStore();
  let history: Recommendation[] = [];
  let events: ScaleEvent[] = [];
  let acting = false;
  let last: ScalingDecision | undefined;

  const evaluate = async () => {
    if (acting) return;
    acting = true;
    try {
      const now = Date.now();
      loads.prune(now);
      const ids = stack.appIds();
      const fresh = loads.loadsOf(ids, now);
      const decision = decideReplicas({
        currentReplicas: ids.length,
        loads: fresh,
        target,
        behavior,
        minReplicas: options.minReplicas,
        maxReplicas: options.maxReplicas,
        history,
        events,
        now,
      });
      history = decision.history;
      events = decision.events;
      last = decision;
      if (decision.desiredReplicas === ids.length) return;
      log.info({ from: ids.length, to: decision.desiredReplicas, reason: decision.reason }, decision.message);
      const published: AutoscaleDecision = {
        from: ids.length,
        to: decision.desiredReplicas,
        reason: decision.reason,
        message: decision.message,
        at: new Date(now).toISOString(),
      };
      bus.publish(SUBJECTS.autoscaleDecision, published);
      for (let n = ids.length; n < decision.desiredReplicas; n++) await stack.addApp();
      if (decision.desiredReplicas < ids.length) {
        const cost = new Map(fresh.map((l) => [l.pod, podDeletionCost(l)]));
        const cheapest = [...ids].sort((a, b) => (cost.get(a) ?? 0) - (cost.get(b) ?? 0));
        for (const id of cheapest.slice(0, ids.length - decision.desiredReplicas)) await stack.removeApp(id);
      }
    } catch (error) {
      log.error({ err: error }, 'autoscaling step failed');
    } finally {
      acting = false;
    }
  };

  const unsubscribe = bus.subscribe(SUBJECTS.appLoadAll, (data) => {
    const report = appLoadSchema.safeParse(data);
    if (!report.success) return;
    const { before, after } = loads.record(report.data, Date.now());
    // A load step is acted on at once rather than at the next tick.
    if (isSignificantChange(before, after, target) && after.inflight > (before?.inflight ?? 0)) void evaluate();
  });
  const timer = setInterval(() => void evaluate(), options.intervalMs ?? 1000);
  timer.unref();

  return {
    lastDecision: () => last,
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
