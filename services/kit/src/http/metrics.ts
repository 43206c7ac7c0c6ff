import client from 'prom-client';

export type Registry = client.Registry;

export interface Metrics {
  registry: client.Registry;
  httpRequests: client.Counter<'method' | 'route' | 'status'>;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  /** Time a request waited for an admission slot (see admission.ts), per tier. */
  admissionWait: client.Histogram<'tier'>;
  /** Requests refused (full) or dropped without work (expired, abandoned), per tier. */
  admissionShed: client.Counter<'tier' | 'reason'>;
}

/**
 * One registry per service (several services share a process in the embedded default), with
 * process metrics and the HTTP request counter and latency histogram per route.
 */
export function createMetrics(service: string, instance?: string): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels(instance ? { service, instance } : { service });
  client.collectDefaultMetrics({ register: registry });
  const httpRequests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests served, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const admissionWait = new client.Histogram({
    name: 'admission_queue_seconds',
    help: 'Time a request waited in the admission queue before it was served, by tier',
    labelNames: ['tier'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const admissionShed = new client.Counter({
    name: 'admission_shed_total',
    help: 'Requests shed by admission, by tier and reason (full: refused at once; expired, abandoned: dropped without work)',
    labelNames: ['tier', 'reason'] as const,
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, admissionWait, admissionShed };
}
