import { appLoadSchema, verifyMembership, type AppLoad } from '@evshare/kit';
import type { LoadTarget } from '../crd/types';
import { DEFAULT_TOLERANCE, type PodLoad } from './decision';

/**
 * The latest load of every APP pod, from its once-a-second reports on `app.load.<id>`.
 * A pod that has not reported for `staleAfterMs` counts as not reporting. Reports are used as
 * they come: the decision's tolerance and scale-down headroom absorb their noise, and smoothing
 * here would lag when load moves onto new pods (the old pods' averages still count it twice).
 */
export interface LoadStore {
  /** Records a report; returns the pod's previous fresh load (if any) and the new one. */
  record(report: AppLoad, receivedAt: number): { before: PodLoad | undefined; after: PodLoad };
  /** The fresh loads among these pods (Kubernetes pod names, or instance ids without Kubernetes). */
  loadsOf(pods: Iterable<string>, now: number): PodLoad[];
  /** Forgets pods whose last report is stale. */
  prune(now: number): void;
  readonly size: number;
}

/** The key a report is stored under: the pod name in Kubernetes, the instance id elsewhere. */
export function loadKey(report: Pick<AppLoad, 'id' | 'pod'>): string {
  return report.pod ?? report.id;
}

/** `staleAfterMs` defaults to 5 s: five missed reports. */
export function createLoadStore(staleAfterMs = 5_000): LoadStore {
  const latest = new Map<string, { load: PodLoad; receivedAt: number }>();
  return {
    record(report, receivedAt) {
      const pod = loadKey(report);
      const previous = latest.get(pod);
      const before = previous && receivedAt - previous.receivedAt <= staleAfterMs ? previous.load : undefined;
      const after: PodLoad = {
        pod,
        inflight: report.inflight,
        p95LatencyMs: report.p95LatencyMs,
        eventLoopUtilization: report.eventLoopUtilization,
        activeMembers: report.activeMembers,
        draining: report.draining,
      };
      latest.set(pod, { load: after, receivedAt });
      return { before, after };
    },
    loadsOf(pods, now) {
      const loads: PodLoad[] = [];
      for (const pod of pods) {
        const entry = latest.get(pod);
        if (entry && now - entry.receivedAt <= staleAfterMs) loads.push(entry.load);
      }
      return loads;
    },
    prune(now) {
      for (const [pod, entry] of latest) if (now - entry.receivedAt > staleAfterMs) latest.delete(pod);
    },
    get size() {
      return latest.size;
    },
  };
}

/**
 * Whether a pod's load moved enough to evaluate its group now rather than at the next tick:
 * a new or newly draining pod, or a change of more than the tolerance of a target.
 */
export function isSignificantChange(before: PodLoad | undefined, after: PodLoad, target: LoadTarget, tolerance = DEFAULT_TOLERANCE): boolean {
  if (!before || before.draining !== after.draining) return true;
  const moved = (a: number, b: number, goal: number | undefined) => goal !== undefined && goal > 0 && Math.abs(a - b) / goal > tolerance;
  return (
    moved(before.inflight, after.inflight, target.inflightPerPod) ||
    moved(before.p95LatencyMs, after.p95LatencyMs, target.p95LatencyMs) ||
    moved(before.eventLoopUtilization, after.eventLoopUtilization, target.eventLoopUtilization)
  );
}

/**
 * A load report received on `subject`, or why it is ignored: with a membership key only reports
 * an APP instance signed count, so no other publisher can drive scaling.
 */
export function acceptLoadReport(
  subject: string,
  data: unknown,
  membershipKey: string | undefined,
  now = Date.now(),
): { report: AppLoad } | { ignored: 'unsigned' | 'malformed' } {
  if (!verifyMembership(subject, data, membershipKey, now)) return { ignored: 'unsigned' };
  const parsed = appLoadSchema.safeParse(data);
  return parsed.success ? { report: parsed.data } : { ignored: 'malformed' };
}
