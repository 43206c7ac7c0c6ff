import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { Bus, Logger } from '@evshare/kit';

/**
 * Fault containment for the one-process stack (make run). In production every service is its own
 * process and Kubernetes restarts the one that fails; here they share a process, so an error that
 * escapes a service's handlers would stop all of them. Each service starts inside its own async
 * context: everything it schedules (its servers' connections and requests, timers, promises)
 * carries the service's name, so an uncaught exception or unhandled rejection can be attributed
 * and that service alone restarted in place, on the same port. An error no service owns is logged
 * loudly and the stack keeps serving.
 */

/** What a service's start function gives back (every service, the gateway included). */
export interface Instance {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface Supervised {
  readonly name: string;
  /** The running instance (replaced by a restart). */
  current(): Instance;
  readonly url: string;
  readonly port: number;
  /** How many times the service was restarted after a fault. */
  restarts(): number;
  stop(): Promise<void>;
}

export interface FaultDomains {
  /**
   * Starts a service in its own domain. `start` gets the port to listen on: 0 the first time,
   * then the port of the first instance, so the gateway's upstream addresses stay valid.
   */
  supervise(name: string, start: (port: number) => Promise<Instance>): Promise<Supervised>;
  /** The service that owns the code running now, if any. */
  owner(): string | undefined;
  /**
   * The shared bus as one service sees it: a handler runs in the domain of the code that
   * subscribed, not in the bus connection's (which no service owns).
   */
  bus(bus: Bus): Bus;
  /** Installs the process handlers (uncaughtException, unhandledRejection); returns their removal. */
  install(): () => void;
}

/** A service that keeps failing is restarted after a growing pause (0.5 s, 1 s, ... up to 30 s). */
const backoffMs = (recentFaults: number) => Math.min(30_000, 500 * 2 ** Math.max(0, recentFaults - 1));
const STOP_TIMEOUT_MS = 5_000;
/** A fault this long after the previous one no longer counts towards the backoff. */
const CALM_MS = 60_000;

export function createFaultDomains(log: Logger): FaultDomains {
  const storage = new AsyncLocalStorage<string>();
  const services = new Map<string, { restart(error: unknown): void }>();

  const onFault = (kind: 'uncaughtException' | 'unhandledRejection', error: unknown) => {
    const owner = storage.getStore();
    const service = owner === undefined ? undefined : services.get(owner);
    if (!service) {
      log.fatal({ err: error, kind }, 'an error no service owns escaped its handlers; the stack keeps serving, but this is a bug to fix');
      return;
    }
    log.error({ err: error, kind, service: owner }, `${owner} failed outside its handlers; restarting it`);
    service.restart(error);
  };
  const onException = (error: unknown) => onFault('uncaughtException', error);
  const onRejection = (reason: unknown) => onFault('unhandledRejection', reason);

  return {
    owner: () => storage.getStore(),

    bus(bus) {
      return new Proxy(bus, {
        get(target, property) {
          if (property === 'subscribe')
            return ((subject, handler, options) => target.subscribe(subject, AsyncResource.bind(handler), options)) satisfies Bus['subscribe'];
          if (property === 'consume')
            return ((stream, durable, handler, options) => target.consume(stream, durable, AsyncResource.bind(handler), options)) satisfies Bus['consume'];
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },

    install() {
      process.on('uncaughtException', onException);
      process.on('unhandledRejection', onRejection);
      return () => {
        process.off('uncaughtException', onException);
        process.off('unhandledRejection', onRejection);
      };
    },

    async supervise(name, start) {
      let instance = await storage.run(name, () => start(0));
      const port = instance.port;
      let restarts = 0;
      let recentFaults = 0;
      let lastFaultAt = 0;
      let restarting = false;
      let stopped = false;

      const restart = async () => {
        // Let the failing instance go as gracefully as it still can; then start afresh.
        await Promise.race([
          instance.stop().catch((error: unknown) => log.warn({ err: error, service: name }, 'stopping the failed instance failed')),
          delay(STOP_TIMEOUT_MS),
        ]);
        for (;;) {
          if (stopped) return;
          try {
            instance = await storage.run(name, () => start(port));
            restarts++;
            log.warn({ service: name, port, restarts }, `${name} restarted`);
            return;
          } catch (error) {
            // The old instance may still hold the port for a moment.
            log.error({ err: error, service: name }, `${name} did not start again; retrying`);
            await delay(backoffMs(++recentFaults));
          }
        }
      };

      services.set(name, {
        restart() {
          if (restarting || stopped) return;
          restarting = true;
          const now = Date.now();
          recentFaults = now - lastFaultAt > CALM_MS ? 1 : recentFaults + 1;
          lastFaultAt = now;
          // Outside the service's domain: a fault during the restart is not the new instance's.
          storage.exit(() => {
            void delay(recentFaults > 1 ? backoffMs(recentFaults) : 0)
              .then(restart)
              .finally(() => {
                restarting = false;
              });
          });
        },
      });

      return {
        name,
        url: instance.url,
        port,
        current: () => instance,
        restarts: () => restarts,
        async stop() {
          stopped = true;
          services.delete(name);
          await instance.stop();
        },
      };
    },
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
