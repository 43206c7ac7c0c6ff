import type { PoolName } from './upstream';

/** Where a request goes, decided from its target and upgrade flag alone. */
export type Route =
  /** Proxied to an upstream pool. */
  | { to: 'pool'; pool: PoolName }
  /** An upgrade (WebSocket) tunnelled to a static pool. */
  | { to: 'tunnel'; pool: Exclude<PoolName, 'app' | 'auth'> }
  /** An upgrade to a path no pool tunnels. */
  | { to: 'no-tunnel'; path: string }
  /** The gateway's own liveness and readiness. */
  | { to: 'own'; path: '/healthz' | '/readyz' }
  /** The balancer's status and metrics: on the admin listener only (they show addresses and load). */
  | { to: 'not-public'; path: string }
  /** No web upstream configured: the placeholder page. */
  | { to: 'placeholder' };

/** Which optional pools exist (the others always do). */
export interface RouteTable {
  charging: boolean;
  web: boolean;
  push: boolean;
}

/** `target` is `prefix` itself or below it (`/api/v1` matches `/api/v1/me`, `/api/v1?x`, not `/api/v1x`). */
export function under(target: string, prefix: string): boolean {
  if (!target.startsWith(prefix)) return false;
  const next = target.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63; /* ? */
}

function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/** The route of a request on the public port. Pure. */
export function route(target: string, upgrade: boolean, table: RouteTable): Route {
  if (upgrade) {
    const pool = under(target, '/push')
      ? table.push && 'push'
      : under(target, '/ocpp')
        ? table.charging && 'charging'
        : !under(target, '/api') && !under(target, '/lb') && table.web && 'web';
    return pool ? { to: 'tunnel', pool } : { to: 'no-tunnel', path: pathOf(target) };
  }
  if (under(target, '/api')) {
    return { to: 'pool', pool: under(target, '/api/v1/auth') ? 'auth' : table.charging && under(target, '/api/v1/charging') ? 'charging' : 'app' };
  }
  if (under(target, '/push')) return { to: 'pool', pool: 'push' };
  const path = pathOf(target);
  if (path === '/healthz' || path === '/readyz') return { to: 'own', path };
  if (path === '/lb' || path.startsWith('/lb/') || path === '/metrics') return { to: 'not-public', path };
  return table.web ? { to: 'pool', pool: 'web' } : { to: 'placeholder' };
}
