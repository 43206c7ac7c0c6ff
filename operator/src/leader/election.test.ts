import { heldSpec, mayAcquire, observe } from './election';

describe('lease rules', () => {
  const spec = {
    holderIdentity: 'op-a',
    leaseDurationSeconds: 15,
    renewTime: '2026-01-01T00:00:00.000000Z',
    acquireTime: '2026-01-01T00:00:00.000000Z',
    leaseTransitions: 2,
  };

  it('times a holder by the local clock since its lease last changed', () => {
    const seen = observe(undefined, spec, 1_000);
    expect(mayAcquire(seen, spec, 'op-b', 15_999)).toBe(false);
    expect(mayAcquire(seen, spec, 'op-b', 16_000)).toBe(true);
    // The same record seen again later does not restart the clock...
    expect(observe(seen, spec, 9_000)).toBe(seen);
    // ...a renewal does.
    const renewed = observe(seen, { ...spec, renewTime: '2026-01-01T00:00:10.000000Z' }, 9_000);
    expect(mayAcquire(renewed, spec, 'op-b', 16_000)).toBe(false);
  });

  it('lets anyone take a free lease and the holder keep its own', () => {
    const free = { ...spec, holderIdentity: '' };
    expect(mayAcquire(observe(undefined, free, 0), free, 'op-b', 0)).toBe(true);
    expect(mayAcquire(observe(undefined, spec, 0), spec, 'op-a', 0)).toBe(true);
    expect(mayAcquire(observe(undefined, undefined, 0), undefined, 'op-b', 0)).toBe(true);
  });

  it('renews without a transition and counts a takeover as one', () => {
    const now = Date.parse('2026-01-01T00:00:05.123Z');
    expect(heldSpec(spec, 'op-a', now, 15)).toEqual({
      holderIdentity: 'op-a',
      leaseDurationSeconds: 15,
      acquireTime: spec.acquireTime,
      renewTime: '2026-01-01T00:00:05.123000Z',
      leaseTransitions: 2,
    });
    expect(heldSpec(spec, 'op-b', now, 15)).toMatchObject({ holderIdentity: 'op-b', acquireTime: '2026-01-01T00:00:05.123000Z', leaseTransitions: 3 });
    expect(heldSpec({ ...spec, holderIdentity: '' }, 'op-b', now, 15).leaseTransitions).toBe(3);
    expect(heldSpec(undefined, 'op-b', now, 15).leaseTransitions).toBe(0);
  });
});
