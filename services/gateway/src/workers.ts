import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import os from 'node:os';
import { problems, type Logger, type Problem } from '@evshare/kit';
import { AggregatorRegistry } from 'prom-client';
import type { GatewayConfig } from './config';
import type { RunningGateway } from './gateway';
import { mergeStatuses, type LbMergedStatus, type LbStatus } from './status';

/** A worker's view, sent to the primary every WORKER_REPORT_MS. */
export interface WorkerReport {
  type: 'evshare-gateway-worker';
  index: number;
  ready: boolean;
  status: LbStatus;
}

const WORKER_REPORT_MS = 500;
/** A worker silent this long counts as not ready in the primary's /readyz. */
const WORKER_SILENT_MS = 3000;
/** More unplanned worker exits than this within RESTART_WINDOW_MS and the primary gives up (exit 1: the pod restarts). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 500;

/** GATEWAY_WORKERS resolved: 0 means one per core the process may use. */
export function workerCount(configured: number): number {
  return configured > 0 ? configured : os.availableParallelism();
}

const isReport = (message: unknown): message is WorkerReport =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'evshare-gateway-worker';

/**
 * In a worker: hands the gateway's metrics to the primary's aggregation and reports its status and
 * readiness, so the primary's operators' listener shows the whole gateway.
 */
export function reportToPrimary(gateway: RunningGateway, index: number): () => void {
  // Constructing one is what makes prom-client answer the primary's requests in a worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([gateway.registry]);
  const send = () => {
    void gateway.ready().then((ready) => {
      if (process.connected) process.send?.({ type: 'evshare-gateway-worker', index, ready, status: gateway.status() } satisfies WorkerReport);
    });
  };
  send();
  const timer = setInterval(send, WORKER_REPORT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  report: WorkerReport | undefined;
  reportAt: number;
}

export interface GatewayPrimary {
  adminUrl: string;
  /** Stops every worker (each drains as a single gateway does) and the operators' listener; resolves true when every worker exited cleanly. */
  stop(): Promise<boolean>;
}

/**
 * The primary of a gateway that runs several workers on one listening socket (node:cluster
 * hands each accepted connection to a worker in turn). The workers build the same ring from the
 * same NATS reports, so a member lands on the same APP instance whichever worker accepted it, and
 * each counts its siblings' load through the instances' reports as it does another gateway's.
 * The primary restarts a worker that dies and serves the operators' listener for all of them:
 * /metrics summed across workers, /lb/status merged, /readyz ready when every worker is.
 */
export async function startPrimary(
  config: GatewayConfig,
  log: Logger,
  count: number,
  /** Called when workers keep dying; the caller exits so that the pod restarts. */
  onGiveUp: () => void,
): Promise<GatewayPrimary> {
  const slots = new Map<number, WorkerSlot>();
  const aggregator = new AggregatorRegistry();
  const restarts: number[] = [];
  let stopping = false;

  const fork = (index: number) => {
    const worker = cluster.fork({ GATEWAY_WORKER_INDEX: String(index) });
    const slot: WorkerSlot = { index, worker, report: undefined, reportAt: 0 };
    slots.set(index, slot);
    worker.on('message', (message: unknown) => {
      if (!isReport(message) || message.index !== index) return;
      slot.report = message;
      slot.reportAt = Date.now();
    });
    worker.on('exit', (code, signal) => {
      if (slots.get(index)?.worker === worker) slots.delete(index);
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        log.fatal({ worker: index, code, signal, restarts: restarts.length }, 'gateway workers keep dying: giving up');
        onGiveUp();
        return;
      }
      log.error({ worker: index, code, signal }, 'gateway worker died: starting another');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_DELAY_MS).unref();
    });
  };

  const listening = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`gateway worker exited with ${code} before listening`));
      worker.once('exit', onExit);
      worker.once('listening', () => {
        worker.off('exit', onExit);
        resolve();
      });
    });
  for (let index = 1; index <= count; index++) fork(index);
  await Promise.all([...slots.values()].map((slot) => listening(slot.worker)));

  const merged = (): LbMergedStatus | undefined => {
    const reported = [...slots.values()].filter((slot) => slot.report).sort((a, b) => a.index - b.index);
    if (reported.length === 0) return undefined;
    const now = Date.now();
    return {
      ...mergeStatuses(reported.map((slot) => slot.report!.status)),
      workers: reported.map((slot) => ({
        index: slot.index,
        pid: slot.worker.process.pid ?? 0,
        ready: slot.report!.ready,
        served: slot.report!.status.totals.served,
        reportAgeMs: now - slot.reportAt,
      })),
    };
  };
  const readiness = () => {
    const now = Date.now();
    const workers = [...Array(count).keys()].map((i) => {
      const slot = slots.get(i + 1);
      const state = !slot || !slot.report ? 'starting' : now - slot.reportAt > WORKER_SILENT_MS ? 'silent' : slot.report.ready ? 'ready' : 'not ready';
      return { index: i + 1, state };
    });
    return { ready: !stopping && workers.every((w) => w.state === 'ready'), workers };
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, contentType: string, body: string) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const problem = (p: Problem, headers: Record<string, string> = {}) => {
      res.writeHead(p.status, { 'Content-Type': 'application/problem+json', ...headers });
      res.end(JSON.stringify(p.toJSON()));
    };
    if (!['/healthz', '/readyz', '/lb/status', '/metrics'].includes(path)) {
      problem(problems.notFound(`The admin listener serves /lb/status, /metrics, /healthz and /readyz, not ${path}`));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      problem(problems.methodNotAllowed(`${path} answers GET and HEAD`), { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') send(200, 'application/json', JSON.stringify({ status: 'ok', workers: slots.size }));
    else if (path === '/readyz') {
      const state = readiness();
      send(state.ready ? 200 : 503, 'application/json', JSON.stringify(state));
    } else if (path === '/lb/status') {
      const status = merged();
      if (status) send(200, 'application/json', JSON.stringify(status));
      else problem(problems.unavailable(config.RETRY_AFTER_S, 'No gateway worker has reported yet'));
    } else {
      aggregator.clusterMetrics().then(
        (text: string) => send(200, aggregator.contentType, text),
        (error: unknown) => {
          log.error({ err: error }, 'gathering the workers’ metrics failed');
          problem(problems.unavailable(config.RETRY_AFTER_S, 'A gateway worker did not answer for its metrics'));
        },
      );
    }
  });
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.ADMIN_PORT, host: config.ADMIN_HOST }, () => resolve());
  });
  const adminPort = (server.address() as { port: number }).port;
  const shownHost = config.ADMIN_HOST === '0.0.0.0' || config.ADMIN_HOST === '::' ? '127.0.0.1' : config.ADMIN_HOST;
  const adminUrl = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${adminPort}`;
  log.info({ workers: count, adminUrl }, 'gateway workers listening');

  const stop = async (): Promise<boolean> => {
    stopping = true;
    const exits = [...slots.values()].map(
      (slot) =>
        new Promise<boolean>((resolve) => {
          if (slot.worker.isDead()) {
            resolve(slot.worker.process.exitCode === 0);
            return;
          }
          slot.worker.once('exit', (code) => resolve(code === 0));
          // SIGTERM starts the worker's own drain (runProcess); a terminal's Ctrl-C reaches it anyway.
          slot.worker.process.kill('SIGTERM');
        }),
    );
    const clean = await Promise.all(exits);
    server.close();
    server.closeAllConnections();
    return clean.every(Boolean);
  };
  return { adminUrl, stop };
}
