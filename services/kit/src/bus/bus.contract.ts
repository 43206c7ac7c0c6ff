/// <reference types="jest" />
import type { Bus, Consumer, DurableMessage } from './types';

/** Polls until check() is true; fails after timeoutMs instead of sleeping a fixed time. */
async function eventually(check: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const never = () => new Promise<void>(() => undefined);

/** Short enough to keep the suite fast, long enough for a loaded 2-core machine. */
const ACK_WAIT_MS = 400;

/**
 * The behaviour every Bus must have; each implementation's test file runs it. make() returns a
 * fresh bus whose subjects, streams and durables no other test sees.
 */
export function busContract(name: string, make: () => Promise<Bus>): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    const consumers: Consumer[] = [];
    beforeEach(async () => {
      bus = await make();
    });
    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((c) => c.stop()));
      await bus.close();
    });

    async function consume(...args: Parameters<Bus['consume']>): Promise<Consumer> {
      const consumer = await bus.consume(...args);
      consumers.push(consumer);
      return consumer;
    }

    describe('core publish/subscribe', () => {
      it('delivers by wildcard, asynchronously, with the subject', async () => {
        const star: string[] = [];
        const tail: string[] = [];
        const exact: unknown[] = [];
        bus.subscribe('car.*.status', (_data, subject) => star.push(subject));
        bus.subscribe('car.>', (_data, subject) => tail.push(subject));
        bus.subscribe('car.c1.status', (data) => exact.push(data));
        await bus.flush();

        bus.publish('car.c1.status', { soc: 80 });
        // Never synchronously inside publish.
        expect(exact).toEqual([]);
        bus.publish('car.c1.status.extra', 1);
        bus.publish('car', 2);
        bus.publish('car.c2.status', 3);
        bus.publish('car.end.status', 'done');

        await eventually(() => star.includes('car.end.status') && tail.includes('car.end.status'));
        expect(star).toEqual(['car.c1.status', 'car.c2.status', 'car.end.status']);
        expect(tail).toEqual(['car.c1.status', 'car.c1.status.extra', 'car.c2.status', 'car.end.status']);
        expect(exact).toEqual([{ soc: 80 }]);
      });

      it('gives each message to one member of a queue group, and to every plain subscriber', async () => {
        const members = [0, 0, 0];
        const plain: unknown[] = [];
        members.forEach((_, i) => bus.subscribe('work.item', () => members[i]!++, { queue: 'workers' }));
        bus.subscribe('work.item', (data) => plain.push(data));
        await bus.flush();

        for (let i = 0; i < 30; i++) bus.publish('work.item', i);
        await eventually(() => plain.length === 30 && members.reduce((a, b) => a + b) >= 30);
        await bus.flush();
        expect(members.reduce((a, b) => a + b)).toBe(30);
        expect(plain).toEqual(Array.from({ length: 30 }, (_, i) => i));
      });

      it('stops delivering after unsubscribe', async () => {
        const removed: unknown[] = [];
        const kept: unknown[] = [];
        const unsubscribe = bus.subscribe('news.>', (data) => removed.push(data));
        bus.subscribe('news.>', (data) => kept.push(data));
        await bus.flush();
        bus.publish('news.a', 1);
        await eventually(() => removed.length === 1);

        unsubscribe();
        await bus.flush();
        bus.publish('news.b', 2);
        bus.publish('news.c', 3);
        await eventually(() => kept.length === 3);
        expect(removed).toEqual([1]);
        unsubscribe();
      });

      it('keeps delivering when a handler throws, reporting the failure as a warning', async () => {
        const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
        try {
          const received: unknown[] = [];
          bus.subscribe('fragile.>', () => {
            throw new Error('handler bug');
          });
          bus.subscribe('fragile.>', async () => {
            throw new Error('async handler bug');
          });
          bus.subscribe('fragile.>', (data) => received.push(data));
          await bus.flush();
          bus.publish('fragile.a', 1);
          bus.publish('fragile.b', 2);
          await eventually(() => received.length === 2 && warn.mock.calls.length === 4);
          const warnings = warn.mock.calls.map((call) => String(call[0]));
          expect(warnings.filter((w) => /fragile\.a.*async handler bug/.test(w))).toHaveLength(1);
          expect(warnings.filter((w) => /fragile\.b.*: Error: handler bug/.test(w))).toHaveLength(1);
          await expect(bus.ping()).resolves.toBeUndefined();
        } finally {
          warn.mockRestore();
        }
      });

      it('rejects subjects that are not valid', () => {
        expect(() => bus.publish('a.*', 1)).toThrow();
        expect(() => bus.publish('a..b', 1)).toThrow();
        expect(() => bus.subscribe('a.>.b', () => undefined)).toThrow();
      });
    });

    describe('durable streams', () => {
      beforeEach(async () => {
        await bus.ensureStreams([
          { name: 'ORDERS', subjects: ['orders.>'], duplicateWindowMs: 60_000 },
          { name: 'JOBS', subjects: ['jobs.*'] },
        ]);
        // Idempotent, and an update of an existing stream is accepted.
        await bus.ensureStreams([{ name: 'ORDERS', subjects: ['orders.>'], duplicateWindowMs: 120_000, maxAgeMs: 3_600_000 }]);
      });

      it('publishes and consumes in order with acknowledgements', async () => {
        const first = await bus.publishDurable('orders.created', { id: 1 }, 'o1');
        expect(first).toEqual({ seq: expect.any(Number), duplicate: false });
        const received: DurableMessage[] = [];
        await consume('ORDERS', 'billing', async (m) => void received.push(m), { ackWaitMs: ACK_WAIT_MS });
        for (let i = 2; i <= 5; i++) await bus.publishDurable('orders.created', { id: i }, `o${i}`);
        await eventually(() => received.length === 5);
        expect(received.map((m) => m.data)).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
        expect(received.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4].map((i) => first.seq + i));
        expect(received.every((m) => m.deliveryCount === 1 && m.subject === 'orders.created')).toBe(true);
      });

      it('rejects a durable publish no stream captures, and a consumer of a missing stream', async () => {
        await expect(bus.publishDurable('nowhere.x', 1, 'n1')).rejects.toThrow();
        await expect(bus.consume('MISSING', 'nobody', async () => undefined)).rejects.toThrow();
      });

      it('drops a repeated msgId within the duplicate window', async () => {
        const a = await bus.publishDurable('orders.created', { id: 1 }, 'same');
        const b = await bus.publishDurable('orders.created', { id: 1, again: true }, 'same');
        expect(a.duplicate).toBe(false);
        expect(b).toEqual({ seq: a.seq, duplicate: true });
        await bus.publishDurable('orders.created', { id: 2 }, 'other');
        const received: unknown[] = [];
        await consume('ORDERS', 'dedupe', async (m) => void received.push(m.data), { ackWaitMs: ACK_WAIT_MS });
        await eventually(() => received.length >= 2);
        expect(received).toEqual([{ id: 1 }, { id: 2 }]);
      });

      it('delivers only what matches the filter subject', async () => {
        const received: string[] = [];
        await consume('ORDERS', 'paid-only', async (m) => void received.push(`${m.subject}:${String(m.data)}`), {
          filterSubject: 'orders.paid',
          ackWaitMs: ACK_WAIT_MS,
        });
        await bus.publishDurable('orders.created', 1, 'f1');
        await bus.publishDurable('orders.paid', 2, 'f2');
        await bus.publishDurable('orders.created', 3, 'f3');
        await bus.publishDurable('orders.paid', 4, 'f4');
        await eventually(() => received.length >= 2);
        expect(received).toEqual(['orders.paid:2', 'orders.paid:4']);
      });

      it('redelivers after the handler throws, with the delivery count', async () => {
        const deliveries: DurableMessage[] = [];
        await consume(
          'ORDERS',
          'flaky',
          async (m) => {
            deliveries.push(m);
            if (m.deliveryCount === 1) throw new Error('transient');
          },
          { ackWaitMs: 5000 },
        );
        const { seq } = await bus.publishDurable('orders.created', 'x', 'r1');
        // Redelivered long before the 5 s ack wait: a throw asks for a redelivery at once.
        await eventually(() => deliveries.length === 2, 3000);
        expect(deliveries.map((m) => [m.seq, m.deliveryCount, m.data])).toEqual([
          [seq, 1, 'x'],
          [seq, 2, 'x'],
        ]);
      });

      it('redelivers to the next consumer of the durable when one dies mid-message', async () => {
        const { seq } = await bus.publishDurable('jobs.charge', { member: 'm1' }, 'j1');
        let started: DurableMessage | undefined;
        const dying = await consume(
          'JOBS',
          'chargers',
          async (m) => {
            started = m;
            return never();
          },
          { ackWaitMs: ACK_WAIT_MS },
        );
        await eventually(() => started !== undefined);
        await dying.stop();

        const received: DurableMessage[] = [];
        await consume('JOBS', 'chargers', async (m) => void received.push(m), { ackWaitMs: ACK_WAIT_MS });
        await eventually(() => received.length === 1);
        expect(received[0]).toEqual({ subject: 'jobs.charge', data: { member: 'm1' }, seq, deliveryCount: 2 });
      });

      it('resumes a durable where it stopped', async () => {
        const received: number[] = [];
        const handler = async (m: DurableMessage) => void received.push(m.data as number);
        const first = await consume('ORDERS', 'resumer', handler, { ackWaitMs: ACK_WAIT_MS });
        for (let i = 1; i <= 3; i++) await bus.publishDurable('orders.created', i, `p${i}`);
        await eventually(() => received.length === 3);
        await first.stop();

        for (let i = 4; i <= 5; i++) await bus.publishDurable('orders.created', i, `p${i}`);
        await consume('ORDERS', 'resumer', handler, { ackWaitMs: ACK_WAIT_MS });
        await eventually(() => received.length >= 5);
        expect(received).toEqual([1, 2, 3, 4, 5]);

        // A new durable name starts from the beginning of the stream.
        const fresh: number[] = [];
        await consume('ORDERS', 'newcomer', async (m) => void fresh.push(m.data as number), { ackWaitMs: ACK_WAIT_MS });
        await eventually(() => fresh.length === 5);
        expect(fresh).toEqual([1, 2, 3, 4, 5]);
      });

      it('gives up after maxDeliver failed deliveries, reports a dead letter and moves on', async () => {
        const attempts: number[] = [];
        const handled: unknown[] = [];
        const dead: { message: DurableMessage; error: unknown }[] = [];
        await consume(
          'ORDERS',
          'strict',
          async (m) => {
            if (m.data === 'poison') {
              attempts.push(m.deliveryCount);
              throw new Error('cannot process');
            }
            handled.push(m.data);
          },
          { ackWaitMs: ACK_WAIT_MS, maxDeliver: 3, onDeadLetter: (message, error) => dead.push({ message, error }) },
        );
        const { seq } = await bus.publishDurable('orders.created', 'poison', 'd1');
        await bus.publishDurable('orders.created', 'fine', 'd2');
        await eventually(() => dead.length === 1 && handled.length === 1);
        expect(attempts).toEqual([1, 2, 3]);
        expect(dead[0]?.message).toEqual({ subject: 'orders.created', data: 'poison', seq, deliveryCount: 3 });
        expect(String(dead[0]?.error)).toMatch(/cannot process/);
        expect(handled).toEqual(['fine']);
      });

      it('reports a message never acknowledged within maxDeliver deliveries as a dead letter', async () => {
        const { seq } = await bus.publishDurable('jobs.charge', 'hangs', 'h1');
        let started = false;
        const hung = await consume(
          'JOBS',
          'hangers',
          async () => {
            started = true;
            return never();
          },
          { ackWaitMs: ACK_WAIT_MS, maxDeliver: 1 },
        );
        await eventually(() => started);
        await hung.stop();

        const dead: DurableMessage[] = [];
        const handled: unknown[] = [];
        await consume('JOBS', 'hangers', async (m) => void handled.push(m.data), {
          ackWaitMs: ACK_WAIT_MS,
          maxDeliver: 1,
          onDeadLetter: (message) => dead.push(message),
        });
        await bus.publishDurable('jobs.charge', 'next', 'h2');
        await eventually(() => dead.length === 1 && handled.length === 1);
        expect(dead[0]).toEqual({ subject: 'jobs.charge', data: 'hangs', seq, deliveryCount: 1 });
        expect(handled).toEqual(['next']);
      });

      it('shares a durable between two consumers, each message handled once', async () => {
        const byConsumer: number[][] = [[], []];
        for (const index of [0, 1]) {
          await consume(
            'JOBS',
            'pool',
            async (m) => {
              byConsumer[index]!.push(m.seq);
              await new Promise((resolve) => setTimeout(resolve, 10));
            },
            { ackWaitMs: 2000 },
          );
        }
        const published = new Set<number>();
        for (let i = 0; i < 20; i++) published.add((await bus.publishDurable('jobs.wash', i, `w${i}`)).seq);
        await eventually(() => byConsumer[0]!.length + byConsumer[1]!.length >= 20);
        const all = [...byConsumer[0]!, ...byConsumer[1]!];
        expect(all).toHaveLength(20);
        expect(new Set(all)).toEqual(published);
        expect(byConsumer[0]!.length).toBeGreaterThan(0);
        expect(byConsumer[1]!.length).toBeGreaterThan(0);
      });

      it('holds at most maxAckPending unacknowledged messages', async () => {
        let active = 0;
        let maxActive = 0;
        let done = 0;
        const handler = async () => {
          maxActive = Math.max(maxActive, ++active);
          await new Promise((resolve) => setTimeout(resolve, 15));
          active--;
          done++;
        };
        await consume('JOBS', 'serial', handler, { maxAckPending: 1, ackWaitMs: 2000 });
        await consume('JOBS', 'serial', handler, { maxAckPending: 1, ackWaitMs: 2000 });
        for (let i = 0; i < 6; i++) await bus.publishDurable('jobs.serial', i, `s${i}`);
        await eventually(() => done === 6);
        expect(maxActive).toBe(1);
      });

      it('hands one client up to `concurrency` messages at once, in stream order', async () => {
        let active = 0;
        let maxActive = 0;
        const started: unknown[] = [];
        const handler = async (m: DurableMessage) => {
          started.push(m.data);
          maxActive = Math.max(maxActive, ++active);
          await new Promise((resolve) => setTimeout(resolve, 30));
          active--;
        };
        for (let i = 0; i < 12; i++) await bus.publishDurable('jobs.parallel', i, `p${i}`);
        await consume('JOBS', 'parallel', handler, { filterSubject: 'jobs.parallel', concurrency: 4, ackWaitMs: 2000 });
        await eventually(() => started.length === 12 && active === 0);
        expect(maxActive).toBe(4);
        expect(started).toEqual([...Array(12).keys()]);
      });
    });

    it('pings while open and rejects after close', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
      const other = await make();
      await other.close();
      await expect(other.ping()).rejects.toThrow();
    });
  });
}
