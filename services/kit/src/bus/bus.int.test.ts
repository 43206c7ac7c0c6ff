import { connect } from 'nats';
import { TEST_NATS_URL, uniqueName } from '../testing';
import { busContract } from './bus.contract';
import { createMemoryBus } from './memory';
import { createNatsBus } from './nats';

busContract('memory', async () => createMemoryBus());

// Every NATS bus gets its own prefix, so its streams and durables are its own.
const prefixes: string[] = [];
async function makeNatsBus() {
  const prefix = `${uniqueName('bus')}.`;
  prefixes.push(prefix);
  return createNatsBus({ url: TEST_NATS_URL, name: 'kit-bus-test', prefix });
}

busContract('nats', makeNatsBus);

/** The stream and durable name prefix the bus derives from a subject prefix. */
const namePrefix = (prefix: string) => prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('nats bus prefix', () => {
  it('keeps buses with different prefixes apart and hides the prefix from handlers', async () => {
    const [a, b] = await Promise.all([makeNatsBus(), makeNatsBus()]);
    try {
      const seenByA: string[] = [];
      const seenByB: string[] = [];
      a.subscribe('ping.>', (_data, subject) => seenByA.push(subject));
      b.subscribe('ping.>', (_data, subject) => seenByB.push(subject));
      await Promise.all([a.flush(), b.flush()]);
      a.publish('ping.one', 1);
      b.publish('ping.two', 2);
      b.publish('ping.three', 3);
      await until(() => seenByA.length >= 1 && seenByB.length >= 2);
      expect(seenByA).toEqual(['ping.one']);
      expect(seenByB).toEqual(['ping.two', 'ping.three']);

      // Same stream name on both: each bus has its own.
      await a.ensureStreams([{ name: 'S', subjects: ['s.>'] }]);
      await b.ensureStreams([{ name: 'S', subjects: ['s.>'] }]);
      expect(await a.publishDurable('s.x', 1, 'id')).toEqual({ seq: 1, duplicate: false });
      expect(await b.publishDurable('s.x', 1, 'id')).toEqual({ seq: 1, duplicate: false });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('nats bus consumer recovery', () => {
  it('re-creates its durable when the server lost it, and keeps consuming', async () => {
    const bus = await makeNatsBus();
    const admin = await connect({ servers: TEST_NATS_URL });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await bus.ensureStreams([{ name: 'LOST', subjects: ['lost.>'] }]);
      const received: unknown[] = [];
      const consumer = await bus.consume('LOST', 'keeper', async (m) => void received.push(m.data), { ackWaitMs: 500 });
      await bus.publishDurable('lost.a', 1, 'l1');
      await until(() => received.length === 1);

      const names = namePrefix(prefixes.at(-1) ?? '');
      const jsm = await admin.jetstreamManager();
      await jsm.consumers.delete(`${names}LOST`, `${names}keeper`);
      await bus.publishDurable('lost.b', 2, 'l2');
      // A re-created durable starts again from the stream's first message: at least once.
      await until(() => received.includes(2));
      expect(received).toEqual([1, 1, 2]);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/consumer .*keeper on .*LOST failed, restarting/), 'BusConsumerWarning');
      await consumer.stop();
    } finally {
      warn.mockRestore();
      await admin.close();
      await bus.close();
    }
  });
});

afterAll(async () => {
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    const jsm = await nc.jetstreamManager();
    const names = prefixes.map(namePrefix);
    for await (const stream of jsm.streams.list()) {
      if (names.some((n) => stream.config.name.startsWith(n))) await jsm.streams.delete(stream.config.name);
    }
  } finally {
    await nc.close();
  }
});
