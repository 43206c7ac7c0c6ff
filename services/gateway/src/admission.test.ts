import { FairQueue } from './admission';

describe('FairQueue', () => {
  it('serves addresses round-robin and each address in arrival order', () => {
    const queue = new FairQueue<string>(100, 10);
    for (const [client, item] of [
      ['a', 'a1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b1'],
      ['c', 'c1'],
      ['c', 'c2'],
    ] as const) {
      expect(queue.push(client, item)).toBe('queued');
    }
    const order: string[] = [];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) order.push(item);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    expect(queue.length).toBe(0);
    expect(queue.clients).toBe(0);
  });

  it('lets a late address be served before a flooding one finishes', () => {
    const queue = new FairQueue<string>(1000, 1000);
    for (let i = 0; i < 500; i++) queue.push('flood', `f${i}`);
    queue.shift();
    queue.push('late', 'l1');
    const next = [queue.shift(), queue.shift(), queue.shift()];
    expect(next).toContain('l1');
  });

  it.each([
    [
      'the total cap',
      3,
      10,
      [
        ['a', 'b', 'c', 'd'],
        ['queued', 'queued', 'queued', 'queue-full'],
      ],
    ],
    [
      'the per-address cap',
      10,
      2,
      [
        ['a', 'a', 'a', 'b'],
        ['queued', 'queued', 'client-full', 'queued'],
      ],
    ],
    ['a zero-length queue', 0, 2, [['a'], ['queue-full']]],
  ] as const)('enforces %s', (_name, total, perClient, [clients, outcomes]) => {
    const queue = new FairQueue<number>(total, perClient);
    expect(clients.map((client, i) => queue.push(client, i))).toEqual(outcomes);
    expect(queue.length).toBe(outcomes.filter((o) => o === 'queued').length);
  });

  it('stays bounded under a flood from many addresses', () => {
    const queue = new FairQueue<number>(50, 3);
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) if (queue.push(`10.0.${i % 7}.${i % 251}`, i) === 'queued') accepted++;
    expect(accepted).toBe(50);
    expect(queue.length).toBe(50);
    expect(queue.clients).toBeLessThanOrEqual(50);
  });

  it('removes a request that gave up, and forgets an address left empty', () => {
    const queue = new FairQueue<string>(10, 10);
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    expect(queue.remove('a', 'a1')).toBe(true);
    expect(queue.remove('a', 'a1')).toBe(false);
    expect(queue.remove('b', 'b1')).toBe(true);
    expect(queue.clients).toBe(1);
    expect(queue.length).toBe(1);
    expect(queue.shift()).toBe('a2');
    expect(queue.shift()).toBeUndefined();
  });

  it('drains everything at shutdown', () => {
    const queue = new FairQueue<string>(10, 10);
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    expect(queue.drain().sort()).toEqual(['a1', 'b1']);
    expect(queue.length).toBe(0);
    expect(queue.push('a', 'a2')).toBe('queued');
  });
});
