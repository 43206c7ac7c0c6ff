import { ConnectionRegistry } from './registry';

describe('ConnectionRegistry', () => {
  it('indexes connections by member and session, oldest first, and counts them', () => {
    const registry = new ConnectionRegistry<string>();
    registry.add('m1', 's1', 'a');
    registry.add('m1', 's2', 'b');
    registry.add('m2', 's3', 'c');
    registry.add('m2', 's3', 'c');
    expect([...registry.ofMember('m1')]).toEqual(['a', 'b']);
    expect([...registry.ofSession('s3')]).toEqual(['c']);
    expect(registry.counts()).toEqual({ members: 2, connections: 3 });

    registry.remove('m1', 's1', 'a');
    registry.remove('m1', 's1', 'a');
    expect([...registry.ofMember('m1')]).toEqual(['b']);
    expect(registry.ofSession('s1').size).toBe(0);
    expect(registry.counts()).toEqual({ members: 2, connections: 2 });

    registry.remove('m2', 's3', 'c');
    expect(registry.counts()).toEqual({ members: 1, connections: 1 });
    expect(registry.ofMember('m2').size).toBe(0);
  });
});
