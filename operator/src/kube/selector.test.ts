import { matchesSelector, selectorString } from './selector';

describe('label selectors', () => {
  const labels = { app: 'evshare-app', tier: 'api' };
  it.each([
    ['matchLabels all equal', { matchLabels: { app: 'evshare-app' } }, true],
    ['matchLabels one differs', { matchLabels: { app: 'other' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['api', 'web'] }] }, true],
    ['In missing key', { matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a'] }] }, false],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['api'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] }, false],
    ['empty selector', {}, false],
  ])('%s', (_name, selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });

  it('prints the kubectl form', () => {
    expect(
      selectorString({
        matchLabels: { app: 'a' },
        matchExpressions: [
          { key: 't', operator: 'In', values: ['x', 'y'] },
          { key: 'z', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=a,t in (x,y),!z');
  });
});
