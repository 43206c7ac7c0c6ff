import fc from 'fast-check';
import { route, under, type Route, type RouteTable } from './route';

const all: RouteTable = { charging: true, web: true, push: true };
const none: RouteTable = { charging: false, web: false, push: false };

describe('route', () => {
  const cases: [target: string, upgrade: boolean, table: RouteTable, expected: Route][] = [
    ['/api/v1/me', false, all, { to: 'pool', pool: 'app' }],
    ['/api', false, none, { to: 'pool', pool: 'app' }],
    ['/api?x=1', false, none, { to: 'pool', pool: 'app' }],
    ['/api/docs', false, none, { to: 'pool', pool: 'app' }],
    ['/apix', false, none, { to: 'placeholder' }],
    ['/api/v1/auth', false, none, { to: 'pool', pool: 'auth' }],
    ['/api/v1/auth/login', false, all, { to: 'pool', pool: 'auth' }],
    ['/api/v1/authx', false, all, { to: 'pool', pool: 'app' }],
    ['/api/v1/charging/piles', false, all, { to: 'pool', pool: 'charging' }],
    ['/api/v1/charging/piles', false, none, { to: 'pool', pool: 'app' }],
    ['/push', false, none, { to: 'pool', pool: 'push' }],
    ['/push/x', false, all, { to: 'pool', pool: 'push' }],
    ['/healthz', false, none, { to: 'own', path: '/healthz' }],
    ['/readyz?verbose', false, all, { to: 'own', path: '/readyz' }],
    ['/lb', false, all, { to: 'not-public', path: '/lb' }],
    ['/lb/status', false, all, { to: 'not-public', path: '/lb/status' }],
    ['/lb/status?x', false, all, { to: 'not-public', path: '/lb/status' }],
    ['/metrics', false, all, { to: 'not-public', path: '/metrics' }],
    ['/lbx', false, all, { to: 'pool', pool: 'web' }],
    ['/', false, all, { to: 'pool', pool: 'web' }],
    ['/', false, none, { to: 'placeholder' }],
    ['/console/vehicles', false, all, { to: 'pool', pool: 'web' }],
    ['/push', true, all, { to: 'tunnel', pool: 'push' }],
    ['/push?token=1', true, all, { to: 'tunnel', pool: 'push' }],
    ['/push', true, none, { to: 'no-tunnel', path: '/push' }],
    ['/ocpp/CP-1', true, all, { to: 'tunnel', pool: 'charging' }],
    ['/ocpp/CP-1', true, none, { to: 'no-tunnel', path: '/ocpp/CP-1' }],
    ['/api/v1/sync', true, all, { to: 'no-tunnel', path: '/api/v1/sync' }],
    ['/lb/status?x', true, all, { to: 'no-tunnel', path: '/lb/status' }],
    ['/_next/webpack-hmr', true, all, { to: 'tunnel', pool: 'web' }],
    ['/_next/webpack-hmr', true, none, { to: 'no-tunnel', path: '/_next/webpack-hmr' }],
  ];
  it.each(cases)('%s (upgrade %s)', (target, upgrade, table, expected) => {
    expect(route(target, upgrade, table)).toEqual(expected);
  });
});

describe('under', () => {
  it.each([
    ['/api', '/api', true],
    ['/api/', '/api', true],
    ['/api?', '/api', true],
    ['/apix', '/api', false],
    ['/ap', '/api', false],
    ['/api/v1x', '/api/v1', false],
  ])('%s under %s: %s', (target, prefix, expected) => {
    expect(under(target, prefix)).toBe(expected);
  });
});

describe('route on any target', () => {
  // The target comes from the internet: whatever it is, exactly one route, and /api only to APP, auth or charging.
  it('always routes, and only /api targets reach the API pools', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261202;
    const segment = fc.constantFrom('api', 'v1', 'auth', 'charging', 'push', 'ocpp', 'lb', 'status', 'metrics', 'healthz', 'readyz', 'x', '', '?', '%2F');
    const target = fc.oneof(
      fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
      fc.string().map((s) => `/${s}`),
    );
    fc.assert(
      fc.property(target, fc.boolean(), fc.record({ charging: fc.boolean(), web: fc.boolean(), push: fc.boolean() }), (t, upgrade, table) => {
        const r = route(t, upgrade, table);
        if (r.to === 'pool' && (r.pool === 'app' || r.pool === 'auth')) expect(under(t, '/api')).toBe(true);
        if (r.to === 'pool' && r.pool === 'web') expect(table.web).toBe(true);
        if (r.to === 'tunnel') expect(table[r.pool]).toBe(true);
        if (under(t, '/api') && !upgrade) expect(r.to).toBe('pool');
      }),
      { seed, numRuns: 2000 },
    );
  });
});
