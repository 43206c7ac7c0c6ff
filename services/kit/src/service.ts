import type { z } from 'zod';
import { connectBackends, type Backends } from './backends';
import { loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { createHealth, type Health } from './http/health';
import { createHttpApp } from './http/app';
import { createMetrics, type Metrics } from './http/metrics';
import { exitOnSignals, listen, type RunningServer as ListeningServer } from './http/server';
import { serveStartupProbes } from './http/startup-probes';
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

/** What a process's main starts: something to stop on SIGTERM, and what to log once it runs. */
export interface StartedProcess {
  stop(): Promise<void>;
  /** Logged with "<name> listening" (e.g. the url); a process that logs its own start leaves it out. */
  details?: Record<string, unknown>;
}

/**
 * The tail of every process's main: start, log that it listens, stop on SIGTERM or SIGINT (within
 * shutdownTimeoutMs, else exit anyway); a start that throws is logged and exits 1.
 *
 * Signals are handled from the first moment, not once start returns: a start may announce that it
 * is up (the stack prints "Press Ctrl-C to stop.") before it returns, and a signal in that window
 * would otherwise kill the process by the default action, leaving its children behind. A signal
 * during start stops what started once it is up.
 */
export async function runProcess(name: string, log: Logger, start: () => Promise<StartedProcess>, shutdownTimeoutMs?: number): Promise<void> {
  let starting: Promise<StartedProcess> | undefined;
  exitOnSignals(
    log,
    // A start that fails rejects here too, so the exit is 1 either way.
    async () => (await starting)?.stop(),
    shutdownTimeoutMs,
  );
  try {
    starting = start();
    const started = await starting;
    if (started.details) log.info(started.details, `${name} listening`);
  } catch (error) {
    log.fatal({ err: error }, `${name} failed to start`);
    log.flush();
    setTimeout(() => process.exit(1), 100);
  }
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
  const log = createLogger(name, (config as { LOG_LEVEL?: string }).LOG_LEVEL ?? 'info');
  await runProcess(
    name,
    log,
    async () => {
      // A start that waits for a backend answers the probes meanwhile: alive, not ready.
      const { PORT: port, HOST: host } = config as { PORT?: number; HOST?: string };
      let probes: Promise<ListeningServer | undefined> | undefined;
      let reason = '';
      const onWaiting = (why: string) => {
        reason = why;
        if (probes !== undefined || port === undefined) return;
        probes = serveStartupProbes(port, host, () => reason).catch((error: unknown) => {
          log.warn({ err: error }, 'startup probes not served');
          return undefined;
        });
      };
      let backends: Backends;
      try {
        backends = await connectBackends({ service: name, log, database: options.database, onWaiting });
      } finally {
        await (await probes)?.close(1_000);
      }
      const service = await start({ config, log, backends });
      return {
        details: { url: service.url, embedded: backends.embedded },
        async stop() {
          await service.stop();
          await backends.close();
        },
      };
    },
    options.shutdownTimeoutMs,
  );
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
