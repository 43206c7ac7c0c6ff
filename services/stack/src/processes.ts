import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

export type ServiceName = 'auth' | 'app' | 'gateway' | 'heartbeat' | 'billing' | 'sms' | 'telematics' | 'charging' | 'web' | 'operator';

export interface ServiceProcess {
  name: ServiceName;
  port: number;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends a signal (SIGTERM: graceful; SIGKILL: a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A free TCP port on loopback (released before use: start services right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a compiled service (`services/<name>/dist/main.js`) as its own process and waits until
 * its /healthz answers. Each output line goes to `onLine`.
 */
export async function spawnService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  options: { port?: number; onLine?: (line: string) => void; startTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const main = name === 'operator' ? path.join(REPO_ROOT, 'operator', 'dist', 'main.js') : path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      options.onLine?.(line);
    });
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let early: number | null | undefined;
  void exited.then((code) => {
    early = code;
  });
  for (;;) {
    if (early !== undefined) throw new Error(`${name} exited with ${early} before it was up:\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer /healthz within the start timeout:\n${tail.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name,
    port,
    url,
    child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
