import client from 'prom-client';
import type { Registry } from '@evshare/kit';
import { LATENCY_BUCKETS, type Upstream } from './upstream';

export interface GatewayMetrics {
  retries: client.Counter;
  ejections: client.Counter<'pool' | 'upstream'>;
  rejected: client.Counter<'reason'>;
}

/**
 * The gateway's metrics. Per-request numbers live in plain counters on each Upstream and are
 * copied into the registry when Prometheus scrapes (`collect`), so the hot path never hashes
 * label sets. The latency histogram is exposed the same way, through a minimal metric object
 * the registry formats like its own histograms.
 */
export interface MetricSource {
  upstreams(): Upstream[];
  queueLength(): number;
  /** The queue's drain estimator (shedding.ts): null while unknown, or for the wait, unbounded. */
  queueView(): { drainPerSecond: number | null; expectedWaitMs: number | null };
}

export function registerGatewayMetrics(registry: Registry, source: MetricSource): GatewayMetrics {
  const registers = [registry];
  new client.Counter({
    name: 'gateway_requests_total',
    help: 'Requests answered through an upstream, by pool, upstream and final status (gateway-made 502/504 included)',
    labelNames: ['pool', 'upstream', 'status'] as const,
    registers,
    collect() {
      this.reset();
      for (const up of source.upstreams()) {
        for (const [status, count] of up.statuses) this.inc({ pool: up.pool, upstream: up.id, status: String(status) }, count);
      }
    },
  });
  new client.Gauge({
    name: 'gateway_upstream_inflight',
    help: 'Requests this gateway has open on each upstream',
    labelNames: ['pool', 'upstream'] as const,
    registers,
    collect() {
      this.reset();
      for (const up of source.upstreams()) this.set({ pool: up.pool, upstream: up.id }, up.inflight);
    },
  });
  new client.Gauge({
    name: 'gateway_upstream_up',
    help: '1 when the upstream can be chosen (healthy, not draining)',
    labelNames: ['pool', 'upstream'] as const,
    registers,
    collect() {
      this.reset();
      for (const up of source.upstreams()) this.set({ pool: up.pool, upstream: up.id }, up.available ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'gateway_queue_length',
    help: 'Requests waiting for an APP instance under its concurrency limit',
    registers,
    collect() {
      this.set(source.queueLength());
    },
  });
  new client.Gauge({
    name: 'gateway_queue_drain_rate',
    help: 'APP requests completed per second lately: how fast the admission queue drains (absent until known)',
    registers,
    collect() {
      this.reset();
      const { drainPerSecond } = source.queueView();
      if (drainPerSecond !== null) this.set(drainPerSecond);
    },
  });
  new client.Gauge({
    name: 'gateway_queue_expected_wait_seconds',
    help: 'Time the admission queue takes to drain at that rate (+Inf when nothing drains, absent until known)',
    registers,
    // The workers' waits are not added up: a request meets the longest.
    aggregator: 'max',
    collect() {
      this.reset();
      const { drainPerSecond, expectedWaitMs } = source.queueView();
      if (drainPerSecond === null) return;
      this.set(expectedWaitMs === null ? Infinity : expectedWaitMs / 1000);
    },
  });
  registry.registerMetric(latencyHistogram(source) as unknown as client.Metric);
  return {
    retries: new client.Counter({ name: 'gateway_retries_total', help: 'Idempotent requests retried on another upstream', registers }),
    ejections: new client.Counter({
      name: 'gateway_ejections_total',
      help: 'Upstreams taken out by passive checks or failed probes',
      labelNames: ['pool', 'upstream'] as const,
      registers,
    }),
    rejected: new client.Counter({
      name: 'gateway_rejected_total',
      help: 'Requests the gateway answered itself with 503 (no instance, expected queue wait too long, queue full, queue wait over)',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

function latencyHistogram(source: { upstreams(): Upstream[] }) {
  const name = 'gateway_upstream_duration_seconds';
  return {
    name,
    help: 'Time from sending a request upstream to the end of its answer to the client',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const up of source.upstreams()) {
        const labels = { pool: up.pool, upstream: up.id };
        let cumulative = 0;
        LATENCY_BUCKETS.forEach((le, i) => {
          cumulative += up.latencyCounts[i]!;
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        cumulative += up.latencyCounts[LATENCY_BUCKETS.length]!;
        values.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
        values.push({ labels, value: up.latencySum, metricName: `${name}_sum` });
        values.push({ labels, value: cumulative, metricName: `${name}_count` });
      }
      return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
    reset() {},
  };
}
