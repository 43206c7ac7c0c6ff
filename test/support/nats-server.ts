import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUS_IDENTITIES, natsServerConfig, type BusIdentity } from '@evshare/kit';
import { freePort } from '@evshare/stack';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface AuthNatsServer {
  url: string;
  /** Each identity's password. */
  passwords: Record<BusIdentity, string>;
  admin: { user: string; password: string };
  /** The environment for a process stack with a NATS user per service (NATS_PASSWORD_<SERVICE>). */
  stackEnv(): Record<string, string>;
  stop(): Promise<void>;
}

/** Each service identity's password, as a server started later will have them. */
export function natsPasswords(): Record<BusIdentity, string> {
  return Object.fromEntries(BUS_IDENTITIES.map((id) => [id, randomBytes(12).toString('hex')])) as Record<BusIdentity, string>;
}

export interface RunningNatsServer {
  url: string;
  port: number;
  /** Its own directory (configuration, JetStream store), removed by stop(). */
  dir: string;
  /** The tail of what it wrote on stderr. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A nats-server of the test's own, on a free port (or the one given, for a client that dialled it
 * before the server came up), with the configuration `config` writes for that port and directory,
 * returned once it listens. `env`: the only variables it sees besides PATH (those its
 * configuration names); without it, the test's own. Stopped by its pid.
 */
export async function runNatsServer(
  config: (where: { port: number; dir: string }) => string | Promise<string>,
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<RunningNatsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'evshare-nats-'));
  const port = options.port ?? (await freePort());
  const file = path.join(dir, 'nats.conf');
  await writeFile(file, await config({ port, dir }));
  const child = spawn(NATS_SERVER, ['-c', file], {
    env: options.env ? { PATH: process.env.PATH, ...options.env } : process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not listen on ${port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    log: () => log,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A nats-server of the test's own (runNatsServer) configured with `natsServerConfig`: a user per
 * service identity with its permissions, and an admin user for set-up.
 */
export async function startAuthNatsServer(options: { port?: number; passwords?: Record<BusIdentity, string> } = {}): Promise<AuthNatsServer> {
  const passwords = options.passwords ?? natsPasswords();
  const admin = { user: 'admin', password: randomBytes(12).toString('hex') };
  const server = await runNatsServer(({ port, dir }) => natsServerConfig({ passwords, admin, port, storeDir: path.join(dir, 'js') }), { port: options.port });
  const url = server.url;
  return {
    url,
    passwords,
    admin,
    stackEnv: () => ({
      NATS_URL: url,
      NATS_SUBJECT_PREFIX: '',
      NATS_USER: admin.user,
      NATS_PASSWORD: admin.password,
      ...Object.fromEntries(BUS_IDENTITIES.map((id) => [`NATS_PASSWORD_${id.toUpperCase()}`, passwords[id]])),
    }),
    stop: () => server.stop(),
  };
}
