import type { Operation } from '@evshare/kit';
import type { ReportLimits } from './schemas/reports';
import type { WalletLimits } from './schemas/wallet';
import { authOperations } from './operations/auth';
import { chargingOperations } from './operations/charging';
import { clusterOperations } from './operations/cluster';
import { docsOperations } from './operations/docs';
import { membersOperations } from './operations/members';
import { rentalAdminOperations, rentalOperations } from './operations/rental';
import { reportOperations } from './operations/reports';
import { reviewOperations } from './operations/reviews';
import { walletAdminOperations, walletOperations } from './operations/wallet';

export * from './schemas';
export { op } from './operation';
export {
  authOperations,
  chargingOperations,
  clusterOperations,
  docsOperations,
  membersOperations,
  rentalAdminOperations,
  rentalOperations,
  reportOperations,
  reviewOperations,
  walletAdminOperations,
  walletOperations,
};

/** What the APP's configuration changes in the operations (providers, money limits). */
export type ApiLimits = WalletLimits & ReportLimits;

/**
 * Every operation of the platform's API as the gateway exposes it, in the order the document
 * lists them: the auth service's, the APP cluster's and the charging service's.
 */
export function apiOperations(limits: ApiLimits): Operation[] {
  return [
    ...Object.values(authOperations),
    ...Object.values(membersOperations),
    ...Object.values(rentalOperations),
    ...Object.values(walletOperations(limits)),
    ...Object.values(walletAdminOperations(limits)),
    ...Object.values(reviewOperations(limits)),
    ...Object.values(reportOperations(limits)),
    ...Object.values(rentalAdminOperations),
    ...Object.values(clusterOperations),
    ...Object.values(chargingOperations),
    ...Object.values(docsOperations),
  ];
}

export const API_INFO = {
  title: 'evshare API',
  version: '1',
  summary: 'Member and operator API of the evshare EV car-sharing platform',
  description: [
    'Authenticate with the session key from `POST /api/v1/auth/login` as `Authorization: Bearer <key>`, or the `evs_session` cookie it sets.',
    'Operator endpoints (`/api/v1/admin/*`) need an operator session. Money is integer fen, times are ISO 8601 UTC, ids are UUIDs. No string in a body or query may contain a NUL character (U+0000).',
    'Every error is RFC 7807 `application/problem+json` with a stable `type` (`urn:evshare:problem:<kind>`).',
    'Operational endpoints (`/healthz`, `/readyz`, `/metrics`) are not part of this API and not described here. See docs/api.md.',
  ].join('\n\n'),
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
};

export const API_TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'auth', description: 'Login, logout, session, password, registration by SMS code, deregistration (served by the auth service)' },
  { name: 'members', description: "The member's own profile" },
  { name: 'notifications', description: 'Notices for the member (also pushed on /push and returned by the poll)' },
  { name: 'sync', description: 'The periodic poll' },
  { name: 'stations', description: 'Stations and the cars available there' },
  { name: 'pricing', description: 'The pricing plan in force' },
  { name: 'reservations', description: 'Holding a car before renting it' },
  { name: 'rentals', description: 'Rent, return (round-trip or one-way), history and bills' },
  { name: 'cards', description: 'Membership (RFID) cards bound to the account' },
  { name: 'wallet', description: 'Balance, deposit, debt, ledger and top-ups' },
  { name: 'payments', description: "Payment providers' asynchronous callbacks" },
  { name: 'licence', description: 'Driving-licence verification' },
  { name: 'admin: members', description: 'Operators: accounts, sessions, notices, licence review, suspension' },
  { name: 'admin: fleet', description: 'Operators: stations and cars' },
  { name: 'admin: pricing', description: 'Operators: publishing pricing plans' },
  { name: 'reports', description: 'Damage and cleanliness reports with photos, at the start of a rental and at its return' },
  { name: 'admin: rentals', description: 'Operators: reservations and rentals' },
  { name: 'admin: reports', description: 'Operators: damage and cleanliness reports, repair and cleaning tasks, charges' },
  { name: 'admin: wallet', description: "Operators: members' wallets, deductions and refunds, SMS" },
  { name: 'admin: cluster', description: 'Operators: scaling decisions of the APP cluster' },
  { name: 'charging', description: 'Charging piles: state, remote start and stop, bookings, sessions (served by the charging service)' },
  { name: 'admin: charging', description: 'Operators: piles, OCPP calls, smart-charging plans' },
  { name: 'docs', description: 'This document' },
];
