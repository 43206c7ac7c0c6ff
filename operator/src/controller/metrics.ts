import client from 'prom-client';
import type { Registry } from '@evshare/kit';

/** What the operator exposes on /metrics, beside the process metrics of the registry. */
export interface OperatorMetrics {
  desiredReplicas: client.Gauge<'namespace' | 'group'>;
  currentReplicas: client.Gauge<'namespace' | 'group'>;
  loadPerPod: client.Gauge<'namespace' | 'group'>;
  reportingPods: client.Gauge<'namespace' | 'group'>;
  scaleOperations: client.Counter<'namespace' | 'group' | 'direction'>;
  reconcileErrors: client.Counter<'namespace' | 'group'>;
  reconcileSeconds: client.Histogram;
  loadReports: client.Counter;
  leader: client.Gauge;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const groupLabels = ['namespace', 'group'] as const;
  const registers = [registry];
  return {
    desiredReplicas: new client.Gauge({
      name: 'evshare_operator_desired_replicas',
      help: 'Replicas the last scaling decision asked for',
      labelNames: groupLabels,
      registers,
    }),
    currentReplicas: new client.Gauge({
      name: 'evshare_operator_current_replicas',
      help: "The APP Deployment's spec.replicas",
      labelNames: groupLabels,
      registers,
    }),
    loadPerPod: new client.Gauge({
      name: 'evshare_operator_load_per_pod',
      help: 'Mean requests in flight per reporting APP pod',
      labelNames: groupLabels,
      registers,
    }),
    reportingPods: new client.Gauge({ name: 'evshare_operator_reporting_pods', help: 'APP pods with a fresh load report', labelNames: groupLabels, registers }),
    scaleOperations: new client.Counter({
      name: 'evshare_operator_scale_operations_total',
      help: 'Scale patches sent, by direction',
      labelNames: [...groupLabels, 'direction'] as const,
      registers,
    }),
    reconcileErrors: new client.Counter({
      name: 'evshare_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried',
      labelNames: groupLabels,
      registers,
    }),
    reconcileSeconds: new client.Histogram({
      name: 'evshare_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one AppServiceGroup',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    loadReports: new client.Counter({ name: 'evshare_operator_load_reports_total', help: 'APP load reports received', registers }),
    leader: new client.Gauge({ name: 'evshare_operator_leader', help: '1 while this instance holds the lease', registers }),
  };
}

/** Watch health per informer (read when Prometheus scrapes): re-lists after 410 Gone and list/watch errors. */
export function registerInformerMetrics(
  registry: Registry,
  stats: () => Record<string, { lists: number; watches: number; relistsAfterGone: number; errors: number }>,
): void {
  const gauge = (name: string, help: string, field: 'lists' | 'watches' | 'relistsAfterGone' | 'errors') =>
    new client.Gauge({
      name,
      help,
      labelNames: ['resource'] as const,
      registers: [registry],
      collect() {
        for (const [resource, s] of Object.entries(stats())) this.set({ resource }, s[field]);
      },
    });
  gauge('evshare_operator_informer_lists', 'Full lists per informer (start, and after 410 Gone)', 'lists');
  gauge('evshare_operator_informer_watches', 'Watches opened per informer', 'watches');
  gauge('evshare_operator_informer_relists_after_gone', 'Lists forced by an expired resourceVersion (410 Gone)', 'relistsAfterGone');
  gauge('evshare_operator_informer_errors', 'List or watch failures per informer (retried with backoff)', 'errors');
}
