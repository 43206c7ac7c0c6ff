import { createDispatcher, planBatch } from './dispatch';

// Items are "<member><n>": the member is the letter.
const keyOf = (item: string) => item[0]!;

describe('planBatch', () => {
  it.each([
    ['nothing pending', [], [], 4, [], []],
    ['distinct members, all fit', ['a1', 'b1', 'c1'], [], 4, ['a1', 'b1', 'c1'], []],
    ['the batch limit leaves the rest in order', ['a1', 'b1', 'c1', 'd1'], [], 2, ['a1', 'b1'], ['c1', 'd1']],
    ['one member twice shares the batch, in order', ['a1', 'a2', 'b1'], [], 4, ['a1', 'a2', 'b1'], []],
    ['a busy member waits, others go', ['a1', 'b1', 'a2', 'c1'], ['a'], 4, ['b1', 'c1'], ['a1', 'a2']],
    ['a member cut off by the limit cannot overtake itself', ['a1', 'b1', 'a2'], [], 1, ['a1'], ['b1', 'a2']],
    ['after a skipped item, its member stays blocked even with room', ['b1', 'c1', 'a1', 'b2', 'a2'], [], 2, ['b1', 'c1'], ['a1', 'b2', 'a2']],
    ['every member busy', ['a1', 'b1'], ['a', 'b'], 4, [], ['a1', 'b1']],
  ] as const)('%s', (_name, pending, busy, maxBatch, batch, rest) => {
    expect(planBatch(pending, keyOf, new Set(busy), maxBatch)).toEqual({ batch, rest });
  });
});

describe('createDispatcher', () => {
  it('runs at most maxRunning batches and never one member in two at once', () => {
    const d = createDispatcher({ keyOf, maxRunning: 2, maxBatch: 2 });
    for (const item of ['a1', 'a2', 'a3', 'b1', 'c1', 'd1']) d.enqueue(item);
    const first = d.take();
    expect(first).toEqual(['a1', 'a2']);
    // a is busy: a3 waits; b and c go.
    const second = d.take();
    expect(second).toEqual(['b1', 'c1']);
    expect(d.take()).toBeUndefined();
    expect({ pending: d.pending, running: d.running }).toEqual({ pending: 2, running: 2 });
    d.done(second!);
    // Still a busy: d goes, a3 stays behind a2.
    expect(d.take()).toEqual(['d1']);
    expect(d.take()).toBeUndefined();
    d.done(first!);
    expect(d.take()).toEqual(['a3']);
    expect(d.pending).toBe(0);
  });

  it('frees a member once its batch is done, and a later item follows in order', () => {
    const d = createDispatcher({ keyOf, maxRunning: 4, maxBatch: 8 });
    d.enqueue('a1');
    const first = d.take()!;
    d.enqueue('a2');
    d.enqueue('b1');
    expect(d.take()).toEqual(['b1']);
    expect(d.take()).toBeUndefined();
    d.done(first);
    expect(d.take()).toEqual(['a2']);
    expect(d.pending).toBe(0);
  });

  it('replayed over many random arrivals, each member is taken in arrival order and never twice at once', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const d = createDispatcher({ keyOf, maxRunning: 3, maxBatch: 4 });
    const running: string[][] = [];
    const taken: string[] = [];
    const counters = new Map<string, number>();
    for (let step = 0; step < 2_000; step++) {
      if (random() < 0.55) {
        const member = 'abcdef'[Math.floor(random() * 6)]!;
        const n = (counters.get(member) ?? 0) + 1;
        counters.set(member, n);
        d.enqueue(`${member}${n}`);
      }
      if (random() < 0.5) {
        const batch = d.take();
        if (batch) {
          const busy = new Set(running.flat().map(keyOf));
          expect(batch.some((item) => busy.has(keyOf(item)))).toBe(false);
          running.push(batch);
          taken.push(...batch);
        }
      }
      if (running.length > 0 && random() < 0.4) d.done(running.splice(Math.floor(random() * running.length), 1)[0]!);
      expect(running.length).toBeLessThanOrEqual(3);
    }
    for (const member of counters.keys()) {
      const order = taken.filter((item) => keyOf(item) === member).map((item) => Number(item.slice(1)));
      expect(order).toEqual(order.map((_, i) => i + 1));
    }
  });
});
