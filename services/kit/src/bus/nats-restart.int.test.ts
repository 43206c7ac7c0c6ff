import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConsumerInfo } from 'nats';
import { createNatsBus } from './nats';
import type { Bus, Consumer } from './types';

/**
 * A broker restart (SIGKILL, then a new server on the same port and store directory) must be
 * survived: core subscriptions resume, and a durable consumer gets every message exactly once.
 */

const NATS_SERVER = '/usr/sbin/nats-server';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const succeeds = (attempt: () => Promise<unknown>) =>
  attempt().then(
    () => true,
    () => false,
  );

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function accepts(port: number): Promise<boolean> {
  const socket = new Socket();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve).once('error', reject);
      socket.connect(port, '127.0.0.1');
    });
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

let storeDir: string;
let port: number;
let server: ChildProcess | undefined;
let bus: Bus | undefined;
let consumer: Consumer | undefined;

async function startServer(): Promise<void> {
  server = spawn(NATS_SERVER, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await eventually(() => accepts(port));
}

async function killServer(): Promise<void> {
  const running = server;
  server = undefined;
  if (!running || running.exitCode !== null || running.signalCode !== null) return;
  const exited = once(running, 'exit');
  running.kill('SIGKILL');
  await exited;
}

/** The durable's state as the server sees it, through a short-lived admin connection. */
async function consumerInfo(stream: string, durable: string): Promise<ConsumerInfo> {
  const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    return await jsm.consumers.info(stream, durable);
  } finally {
    await nc.close();
  }
}

/** Every message up to lastSeq was delivered and acknowledged, nothing waits for an ack. */
async function allAcked(lastSeq: number): Promise<boolean> {
  try {
    const info = await consumerInfo('RESTART', 'survivor');
    return info.ack_floor.stream_seq === lastSeq && info.num_ack_pending === 0 && info.num_pending === 0;
  } catch {
    return false;
  }
}

/**
 * nats-server keeps a durable's ack state in memory and writes it to o.dat at most every
 * 100 ms (messages are written within milliseconds); a SIGKILL before that loses the latest
 * acks, and JetStream then rightly redelivers. So before killing, wait until the store holds
 * the acks (o.dat: magic 22, version 2, then uvarints ack floor consumer/stream seq, delivered
 * consumer/stream seq, pending count) and the last message.
 */
async function persisted(lastSeq: number, lastPayload: string): Promise<boolean> {
  const streamDir = join(storeDir, 'jetstream', '$G', 'streams', 'RESTART');
  try {
    const state = await readFile(join(streamDir, 'obs', 'survivor', 'o.dat'));
    // nats-server rewrites o.dat in place: a read can catch it empty while it is being written.
    if (state.length < 2) return false;
    if (state[0] !== 22 || state[1] !== 2) throw new Error(`unknown consumer state format ${state.subarray(0, 2).toString('hex')}`);
    const numbers: number[] = [];
    for (let offset = 2, value = 0, shift = 0; offset < state.length && numbers.length < 5; offset++) {
      const byte = state[offset] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) {
        numbers.push(value);
        value = 0;
        shift = 0;
      }
    }
    const [, ackFloorStream, , , pendingCount] = numbers;
    if (ackFloorStream !== lastSeq || pendingCount !== 0) return false;
    const blocks = (await readdir(join(streamDir, 'msgs'))).filter((f) => f.endsWith('.blk'));
    const contents = await Promise.all(blocks.map((f) => readFile(join(streamDir, 'msgs', f))));
    return contents.some((c) => c.includes(lastPayload));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'kit-nats-restart-'));
  port = await freePort();
  await startServer();
}, 15_000);

afterAll(async () => {
  await consumer?.stop();
  await bus?.close();
  await killServer();
  await rm(storeDir, { recursive: true, force: true });
}, 15_000);

it('survives a broker restart: core subscriptions and durable consumers resume', async () => {
  const natsBus = await createNatsBus({ url: `nats://127.0.0.1:${port}`, name: 'kit-restart-test' });
  bus = natsBus;
  await natsBus.ensureStreams([{ name: 'RESTART', subjects: ['restart.>'] }]);

  const core: number[] = [];
  natsBus.subscribe('live.>', (data) => core.push(data as number));
  const received: number[] = [];
  consumer = await natsBus.consume('RESTART', 'survivor', async (m) => void received.push((m.data as { n: number }).n), { ackWaitMs: 1000 });

  for (let n = 1; n <= 5; n++) await natsBus.publishDurable('restart.msg', { n }, `m${n}`);
  await eventually(() => received.length === 5);
  await eventually(() => allAcked(5));
  await eventually(() => persisted(5, JSON.stringify({ n: 5 })));

  await killServer();
  const started = Date.now();
  await expect(natsBus.ping()).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(1500);

  await startServer();
  await eventually(() => succeeds(() => natsBus.ping()));

  // (a) Core messages published after the restart arrive once the subscription is back.
  let next = 0;
  await eventually(() => {
    natsBus.publish('live.tick', next++);
    return core.length > 0;
  });

  // (b) Durable messages published after the restart; a publish that failed during recovery
  // is retried with the same msgId, so it cannot be stored twice.
  for (let n = 6; n <= 10; n++) {
    await eventually(() => succeeds(() => natsBus.publishDurable('restart.msg', { n }, `m${n}`)));
  }
  await eventually(() => received.length >= 10);
  await eventually(() => allAcked(10));
  expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}, 60_000);
