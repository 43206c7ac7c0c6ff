import type { Bus, KeyValueStore, Logger, Pool, Route, SessionGuard, SessionStore } from '@evshare/kit';
import type { AppConfig } from './config';
import type { MemberRepository } from './members';

/** What a business domain's routes get from the APP service. */
export interface AppContext {
  config: AppConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  cache: KeyValueStore;
  sessions: SessionStore;
  members: MemberRepository;
  /** How member and operator routes authenticate (the account must still be active). */
  guard: SessionGuard;
}

/** What a business domain hands the APP service: its routes, and background work to end when the instance stops. */
export interface DomainMount {
  routes: Route[];
  stop?(): void;
}
