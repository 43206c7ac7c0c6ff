/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every dependency answers
 * and the service is not draining). A balancer or kubelet stops sending traffic when readiness
 * fails; draining starts at SIGTERM.
 */
export type Check = () => Promise<void>;

export interface Health {
  readonly draining: boolean;
  addCheck(name: string, check: Check): void;
  startDraining(): void;
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

export interface HealthOptions {
  /** How long a check may take before it counts as failed. */
  checkTimeoutMs?: number;
  /**
   * A failing check turns readiness false only once it has failed without a break this long:
   * a short blip of a dependency every instance shares (Redis, NATS, PostgreSQL) must not take
   * every instance out of the balancer at once. Meanwhile the check reads `degraded …`. 0: at once.
   */
  outageAfterMs?: number;
  now?: () => number;
}

export function createHealth(options: HealthOptions = {}): Health {
  const { checkTimeoutMs = 1_000, outageAfterMs = 0, now = Date.now } = options;
  const checks = new Map<string, Check>();
  /** When each failing check began failing (cleared by a pass). */
  const failingSince = new Map<string, number>();
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    addCheck(name, check) {
      checks.set(name, check);
    },
    startDraining() {
      draining = true;
    },
    async readiness() {
      const results: Record<string, string> = {};
      let ready = !draining;
      if (draining) results.draining = 'shutting down';
      await Promise.all(
        [...checks].map(async ([name, check]) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              check(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
              }),
            ]);
            results[name] = 'ok';
            failingSince.delete(name);
          } catch (error) {
            const message = (error as Error).message || 'failed';
            const since = failingSince.get(name) ?? now();
            failingSince.set(name, since);
            const failingMs = now() - since;
            if (failingMs >= outageAfterMs) {
              results[name] = message;
              ready = false;
            } else results[name] = `degraded for ${failingMs} ms: ${message}`;
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      return { ready, checks: results };
    },
  };
}
