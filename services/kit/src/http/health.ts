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

export function createHealth(checkTimeoutMs = 1_000): Health {
  const checks = new Map<string, Check>();
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
          } catch (error) {
            results[name] = (error as Error).message || 'failed';
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      return { ready: Object.values(results).every((r) => r === 'ok'), checks: results };
    },
  };
}
