import { conflictingAutoscalers, type Autoscaler, type ScaleTargetRef } from './conflicts';

const NS = 'evshare';
const auto = (name: string, ref: ScaleTargetRef, namespace = NS, deleting = false): Autoscaler => ({
  metadata: { name, namespace, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { scaleTargetRef: ref },
});

describe('conflictingAutoscalers', () => {
  it.each<[string, Autoscaler[], Autoscaler[], string[]]>([
    ['nothing else scales it', [], [], []],
    ['an HPA on the Deployment', [auto('app-hpa', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' })], [], ['HorizontalPodAutoscaler app-hpa']],
    ['a ScaledObject with the KEDA defaults (kind and apiVersion left out)', [], [auto('app-so', { name: 'app' })], ['ScaledObject app-so']],
    [
      'both, named in a stable order',
      [auto('b', { kind: 'Deployment', name: 'app' }), auto('a', { kind: 'Deployment', name: 'app' })],
      [auto('so', { name: 'app' })],
      ['HorizontalPodAutoscaler a', 'HorizontalPodAutoscaler b', 'ScaledObject so'],
    ],
    ['another Deployment', [auto('x', { kind: 'Deployment', name: 'web' })], [auto('y', { name: 'web' })], []],
    ['a StatefulSet of the same name', [auto('x', { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'app' })], [], []],
    ['a custom resource of kind Deployment in another group', [], [auto('y', { apiVersion: 'example.org/v1', kind: 'Deployment', name: 'app' })], []],
    ['the same name in another namespace', [auto('x', { kind: 'Deployment', name: 'app' }, 'other')], [], []],
    ['an HPA being deleted', [auto('x', { kind: 'Deployment', name: 'app' }, NS, true)], [], []],
    ['an autoscaler without a target', [{ metadata: { name: 'broken', namespace: NS } }], [], []],
  ])('%s', (_name, hpas, scaledObjects, expected) => {
    expect(conflictingAutoscalers(NS, 'app', { hpas, scaledObjects })).toEqual(expected);
  });
});
