import { setConditions } from './conditions';

describe('setConditions', () => {
  const t0 = '2026-01-01T00:00:00Z';
  const t1 = '2026-01-01T00:05:00Z';

  it('stamps new conditions with the time and generation, in a stable order', () => {
    const result = setConditions(
      undefined,
      [
        { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
        { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' },
      ],
      t0,
      3,
    );
    expect(result).toEqual([
      { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: t0, observedGeneration: 3 },
      { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', lastTransitionTime: t0, observedGeneration: 3 },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, even if reason and message change', () => {
    const first = setConditions(undefined, [{ type: 'ScalingLimited', status: 'True', reason: 'AtMaxReplicas', message: 'a' }], t0, 1);
    const second = setConditions(first, [{ type: 'ScalingLimited', status: 'True', reason: 'ScaleUpStepLimit', message: 'b' }], t1, 2);
    expect(second[0]).toMatchObject({ reason: 'ScaleUpStepLimit', lastTransitionTime: t0, observedGeneration: 2 });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const first = setConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'DeploymentNotFound', message: '' }], t0, 1);
    const second = setConditions(first, [{ type: 'Ready', status: 'True', reason: 'Ready', message: '' }], t1, 1);
    expect(second[0]!.lastTransitionTime).toBe(t1);
  });

  it('leaves conditions it is not given alone', () => {
    const first = setConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Ready', message: '' }], t0, 1);
    const second = setConditions(first, [{ type: 'Degraded', status: 'True', reason: 'ScaleFailed', message: 'x' }], t1, 1);
    expect(second.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
  });
});
