/**
 * Throwaway Redis topologies for integration tests: a Redis Cluster of masters, or a master with
 * a replica watched by a Sentinel. Every server runs from /usr/bin/redis-server on free loopback
 * ports in its own temp dir, logs to a file there, and is killed by RedisTopology.stop().
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const HOST = '127.0.0.1';
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';

/** Processes still running, killed on exit should a test run die before its afterAll. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
}

/** Distinct loopback ports nothing listens on (all held at once, so they differ); never 6379. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    while (servers.length < count) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, resolve);
      });
      servers.push(server);
    }
    const ports = servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return address.port;
    });
    if (ports.includes(6379)) return await freePorts(count);
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Sends one command to the server on port and disconnects; rejects at once when nothing answers. */
export async function redisCall(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** A Redis reply of alternating field names and values (SENTINEL REPLICAS, ...) as an object. */
function fields(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) result[list[i]!] = list[i + 1]!;
  return result;
}

/** Field `name` of an INFO or CLUSTER INFO reply. */
export function infoField(info: unknown, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(String(info))?.[1]?.trim();
}

export interface RedisServer {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  readonly exited: boolean;
  /** Sends the signal and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

class Process implements RedisServer {
  exited = false;
  private readonly gone: Promise<void>;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.gone = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        resolve();
      });
    });
    track(child);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.exited) this.child.kill(signal);
    await this.gone;
  }
}

export class RedisTopology {
  readonly dir = mkdtempSync(join(tmpdir(), 'evshare-redis-'));
  readonly servers: RedisServer[] = [];

  /**
   * Starts a redis-server with args(ports) (ports: `portCount` free loopback ports, the first
   * being the client port) and waits until it answers PING. Retries with other ports when one
   * was taken in the meantime.
   */
  async startServer(name: string, portCount: number, args: (ports: number[], dir: string) => string[]): Promise<RedisServer> {
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const logFile = join(dir, 'redis.log');
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(portCount);
      const port = ports[0]!;
      const log = openSync(logFile, 'w');
      let child: ChildProcess;
      try {
        child = spawn(REDIS_SERVER, args(ports, dir), { cwd: dir, stdio: ['ignore', log, log] });
      } finally {
        closeSync(log);
      }
      const server = new Process(name, port, dir, logFile, child);
      this.servers.push(server);
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      const ready = this.waitFor(
        `${name} (port ${port}) to answer PING`,
        async () => {
          if (server.exited) return true;
          return (await redisCall(port, 'PING').catch(() => null)) === 'PONG';
        },
        5000,
      );
      const failed = await Promise.race([ready.then(() => undefined), spawnError]);
      if (failed) throw new Error(`could not start ${REDIS_SERVER}: ${failed.message}`);
      if (!server.exited) return server;
      const output = readLog(logFile);
      if (/Address already in use/i.test(output) && attempt < 3) continue;
      throw new Error(`${name} (port ${port}) exited at startup\n${this.logs()}`);
    }
  }

  /**
   * Polls check() every 50 ms until it returns true; after timeoutMs fails naming `what`, the
   * last error check() threw, and the tail of every server's log.
   */
  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        if (await check()) return;
        lastError = undefined;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        const cause = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`;
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}\n${this.logs()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The last lines of every server's log, for failure messages. */
  logs(lines = 30): string {
    return this.servers
      .map((server) => {
        const tail = readLog(server.logFile).trimEnd().split('\n').slice(-lines).join('\n');
        return `--- ${server.name} (port ${server.port}${server.exited ? ', exited' : ''}): ${server.logFile}\n${tail}`;
      })
      .join('\n');
  }

  /** Kills every server and removes the temp dir. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** The options every throwaway server gets: loopback only, nothing persisted. */
function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', HOST, '--protected-mode', 'no', '--dir', dir, '--save', '', '--appendonly', 'no'];
}

export interface ClusterTopology {
  nodes: RedisServer[];
  /** host:port,... as REDIS_CLUSTER_NODES takes it. */
  nodeList: string;
}

/** Starts `masters` cluster nodes, joins them (no replicas) and waits for cluster_state:ok on all. */
export async function startCluster(topology: RedisTopology, masters = 3): Promise<ClusterTopology> {
  const nodes = await Promise.all(
    Array.from({ length: masters }, (_, i) =>
      topology.startServer(`cluster-${i + 1}`, 2, ([port, busPort], dir) => [
        ...baseArgs(port!, dir),
        // An explicit bus port: the default (port + 10000) may be taken, or above 65535.
        '--cluster-port',
        String(busPort),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
      ]),
    ),
  );
  const addresses = nodes.map((node) => `${HOST}:${node.port}`);
  await new Promise<void>((resolve, reject) => {
    execFile(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli --cluster create failed: ${error.message}\n${stdout}${stderr}\n${topology.logs()}`));
      else resolve();
    });
  });
  for (const node of nodes) {
    await topology.waitFor(
      `cluster_state:ok on ${node.name} (port ${node.port})`,
      async () => infoField(await redisCall(node.port, 'CLUSTER', 'INFO'), 'cluster_state') === 'ok',
      10_000,
    );
  }
  return { nodes, nodeList: addresses.join(',') };
}

export interface SentinelTopology {
  master: RedisServer;
  replica: RedisServer;
  sentinel: RedisServer;
  masterName: string;
  /** The master's port as the sentinel reports it now. */
  currentMasterPort(): Promise<number>;
}

/**
 * Starts a master, a replica of it, and one sentinel monitoring it with quorum 1 and short
 * timeouts (down after 1 s); resolves once the replica is in sync and the sentinel knows it.
 */
export async function startSentinel(topology: RedisTopology, masterName = 'evshare'): Promise<SentinelTopology> {
  const master = await topology.startServer('master', 1, ([port], dir) => baseArgs(port!, dir));
  const replica = await topology.startServer('replica', 1, ([port], dir) => [...baseArgs(port!, dir), '--replicaof', HOST, String(master.port)]);
  await topology.waitFor(
    `the replica (port ${replica.port}) to sync with the master (port ${master.port})`,
    async () => infoField(await redisCall(replica.port, 'INFO', 'replication'), 'master_link_status') === 'up',
    10_000,
  );
  const sentinel = await topology.startServer('sentinel', 1, ([port], dir) => {
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${port}`,
        `bind ${HOST}`,
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${masterName} ${HOST} ${master.port} 1`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    return [config, '--sentinel'];
  });
  await topology.waitFor(
    `the sentinel (port ${sentinel.port}) to see master ${masterName} and its replica (port ${replica.port})`,
    async () => {
      const masterInfo = fields(await redisCall(sentinel.port, 'SENTINEL', 'MASTER', masterName));
      if (masterInfo.flags !== 'master') return false;
      const replicas = ((await redisCall(sentinel.port, 'SENTINEL', 'REPLICAS', masterName)) as unknown[]).map(fields);
      return replicas.some((r) => r.port === String(replica.port) && r.flags === 'slave' && r['master-link-status'] === 'ok');
    },
    10_000,
  );
  return {
    master,
    replica,
    sentinel,
    masterName,
    async currentMasterPort() {
      const address = (await redisCall(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string] | null;
      if (!address) throw new Error(`the sentinel does not know master ${masterName}`);
      return Number(address[1]);
    },
  };
}
