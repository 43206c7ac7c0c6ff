import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@evshare/stack';

/**
 * A Mosquitto of the test's own on a free loopback port, configured as docs/vehicles.md tells
 * production to: no anonymous clients, a password file, pattern ACLs, client id = username, and
 * packet size limits.
 */
export async function startMosquitto(options: {
  users: Array<{ username: string; password: string }>;
  topicRoot: string;
  serviceUser: string;
  maxPacketBytes: number;
}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const passwd = path.join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const user of options.users) execFileSync('mosquitto_passwd', ['-b', passwd, user.username, user.password], { stdio: 'ignore' });
  const root = options.topicRoot;
  writeFileSync(
    path.join(dir, 'acl'),
    [
      `user ${options.serviceUser}`,
      `topic readwrite ${root}/vehicles/#`,
      ...['telemetry', 'events', 'acks', 'status'].map((c) => `pattern write ${root}/vehicles/%u/${c}`),
      `pattern read ${root}/vehicles/%u/commands`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'mosquitto.conf'),
    [
      'per_listener_settings false',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${path.join(dir, 'acl')}`,
      'use_username_as_clientid true',
      `max_packet_size ${options.maxPacketBytes}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  // Started as root, Mosquitto drops to its own user, which must read the files.
  chmodSync(dir, 0o755);
  for (const file of ['passwd', 'acl', 'mosquitto.conf']) chmodSync(path.join(dir, file), 0o644);
  const child = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    /** The broker process's resident memory in bytes. */
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
