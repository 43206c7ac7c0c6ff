import type { z } from 'zod';
import { connectBackends, type Backends } from './backends';
import { loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { createHealth, type Health } from './http/health';
import { createHttpApp } from './http/app';
import { createMetrics, type Metrics } from './http/metrics';
import { exitOnSignals, listen } from './http/server';
import type { Consumer } from './bus/types';

/** What every service's start function returns, whether run alone or inside the one-process stack. */
export interface RunningService {
  name: string;
  url: string;
  port: number;
  health: Health;
  /** Graceful: readiness false, in-flight requests finish, connections close. */
  stop(): Promise<void>;
}

/**
 * The whole of a service's main: configuration (exit 2 with one line on a bad value), logger,
 * connections, the service, and SIGTERM handling. Each main is this call and nothing else.
 */
export async function runMain<S extends z.ZodObject<z.ZodRawShape>>(
  name: string,
  schema: S,
  start: (context: { config: z.infer<S>; log: Logger; backends: Backends }) => Promise<RunningService>,
  options: { database?: boolean; shutdownTimeoutMs?: number } = {},
): Promise<void> {
  const config = loadConfig(name, schema);
  const log = createLogger(name, String((config as { LOG_LEVEL?: unknown }).LOG_LEVEL ?? 'info'));
  try {
    const backends = await connectBackends({ service: name, log, database: options.database });
    const service = await start({ config, log, backends });
    log.info({ url: service.url, embedded: backends.embedded }, `${name} listening`);
    exitOnSignals(
      log,
      async () => {
        await service.stop();
        await backends.close();
      },
      options.shutdownTimeoutMs,
    );
  } catch (error) {
    log.fatal({ err: error }, `${name} failed to start`);
    log.flush();
    setTimeout(() => process.exit(1), 100);
  }
}

/**
 * A queue worker's face to the cluster: only /healthz, /readyz and /metrics. Stopping drains
 * readiness, stops the consumer (the message in hand finishes or is redelivered), then the server.
 */
export async function serveWorker(
  name: string,
  options: { log: Logger; metrics: Metrics; health: Health; consumer: Consumer; port: number; host: string },
): Promise<RunningService> {
  const { log, metrics, health, consumer } = options;
  const server = await listen(createHttpApp({ log, metrics, health, routes: () => undefined }), options.port, options.host);
  return {
    name,
    url: server.url,
    port: server.port,
    health,
    async stop() {
      health.startDraining();
      await consumer.stop();
      await server.close();
    },
  };
}

/**
 * A load generator's face to the cluster (the simulators run as pods): /healthz and /readyz for
 * the probes, /metrics, and GET /status with what `status()` reports, for `kubectl port-forward`.
 */
export async function serveStatus(
  name: string,
  options: { log: Logger; port: number; host: string; status: () => unknown },
): Promise<{ url: string; stop(): Promise<void> }> {
  const health = createHealth();
  const app = createHttpApp({
    log: options.log,
    metrics: createMetrics(name),
    health,
    routes: (app) => {
      app.get('/status', (_req, res) => {
        res.json(options.status());
      });
    },
  });
  const server = await listen(app, options.port, options.host);
  return {
    url: server.url,
    async stop() {
      health.startDraining();
      await server.close();
    },
  };
}
