/** The member and operator API's response bodies (docs/api.md, services/app/src/docs/responses.ts). */

export type Role = 'member' | 'admin';

export interface Session {
  sessionKey?: string;
  memberId: string;
  role: Role;
  address: string;
  createdAt: string;
  lastAccessAt: string;
  expiresAt: string;
  apps: string[];
}

export interface Member {
  id: string;
  phone: string | null;
  username: string | null;
  displayName: string;
  role: Role;
  status: string;
  createdAt: string;
}

export interface AdminMember extends Member {
  licenceStatus: LicenceStatus;
  licenceNumber: string | null;
  licenceExpiresOn: string | null;
  licenceSubmittedAt: string | null;
  balanceFen: number;
  depositFen: number;
  debtFen: number;
}

export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: Record<string, unknown>;
  at: string;
}

export interface Station {
  id: string;
  name: string;
  lat: number;
  lng: number;
  geofenceRadiusM: number;
  capacity: number;
  returnPolicy: 'round-trip' | 'open';
  availableCars: number;
  freeParking: number;
}

export interface AvailableVehicle {
  id: string;
  vin: string;
  plate: string;
  model: string;
  stationId: string | null;
  state: string;
  socPct: number;
  estimatedRangeKm: number;
}

export const VEHICLE_STATES = ['available', 'reserved', 'in_use', 'charging', 'maintenance', 'offline'] as const;
export type VehicleState = (typeof VEHICLE_STATES)[number];

export interface Vehicle {
  id: string;
  vin: string;
  plate: string;
  model: string;
  batteryKwh: number;
  ratedRangeKm: number;
  homeStationId: string;
  stationId: string | null;
  lat: number | null;
  lng: number | null;
  socPct: number;
  odometerM: number;
  doorsLocked: boolean;
  reportedAt: string | null;
  state: VehicleState;
  version: number;
  /** The vehicle link's view (operators only). */
  online?: boolean;
}

export interface PricingPlan {
  id: string;
  name: string;
  perMinuteFen: number;
  perKmFen: number;
  dailyCapFen: number | null;
  minimumFen: number;
  reservationFeeFen: number;
  holdMinutes: number;
  oneWayFeeFen: number;
  oneWayPerKmFen: number;
  depositFen: number;
  validFrom: string;
  validTo: string | null;
  publishedBy: string | null;
  createdAt: string;
}

export interface Reservation {
  id: string;
  memberId: string;
  vehicleId: string;
  stationId: string;
  planId: string;
  status: string;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
  feeFen: number;
}

export interface FeeBreakdown {
  planId: string;
  minutes: number;
  periods: number;
  timeFen: number;
  distanceM: number;
  distanceFen: number;
  capApplied: boolean;
  minimumApplied: boolean;
  oneWayFen: number;
  totalFen: number;
}

export interface Rental {
  id: string;
  memberId: string;
  vehicleId: string;
  reservationId: string | null;
  cardUid: string | null;
  planId: string;
  startStationId: string;
  endStationId: string | null;
  startedAt: string;
  endedAt: string | null;
  startOdometerM: number;
  endOdometerM: number | null;
  startSocPct: number;
  endSocPct: number | null;
  unlockCommandId: string;
  price: FeeBreakdown | null;
  totalFen: number | null;
  status: string;
}

export interface ReturnRefusal {
  reason: 'round-trip-station' | 'station-full' | 'vehicle-not-reporting' | 'doors-open' | 'doors-unlocked' | 'ignition-on' | 'plug-in-required' | 'position-unknown' | 'outside-geofence';
  detail: string;
}

export interface ReturnQuote {
  rentalId: string;
  stationId: string;
  oneWay: boolean;
  price: FeeBreakdown;
  refusals: ReturnRefusal[];
  canReturn: boolean;
}

export interface Card {
  uid: string;
  memberId: string | null;
  boundAt: string | null;
}

export interface Wallet {
  balanceFen: number;
  depositFen: number;
  debtFen: number;
}

export interface LedgerEntry {
  id: number;
  reference: string;
  kind: string;
  amountFen: number;
  balanceAfterFen: number;
  debtAfterFen: number;
  description: string;
  rentalId: string | null;
  createdAt: string;
}

export interface Payment {
  id: string;
  provider: string;
  amountFen: number;
  status: 'pending' | 'succeeded' | 'failed';
  createdAt: string;
  completedAt: string | null;
  next?: { url: string };
}

export type LicenceStatus = 'unverified' | 'pending' | 'approved' | 'rejected';

export interface Licence {
  status: LicenceStatus;
  number: string | null;
  expiresOn: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
  rejectReason: string | null;
}

export interface DeviceChargeReview {
  id: string;
  kind: 'charging' | 'trip';
  reference: string;
  device: string;
  memberId: string | null;
  reported: Record<string, unknown>;
  bound: Record<string, unknown>;
  reasons: string[];
  reportedFen: number;
  boundedFen: number;
  status: 'pending' | 'approved' | 'adjusted' | 'waived';
  decidedFen: number | null;
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
  createdAt: string;
}

export interface SmsLogEntry {
  reference: string;
  memberId: string | null;
  phone: string | null;
  template: string;
  locale: string;
  body: string | null;
  status: string;
  attempts: number;
  provider: string | null;
  providerId: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface SyncState {
  version: string;
  member: Member;
  notifications: Notification[];
  reservation: Reservation | null;
  rental: Rental | null;
  pollAfterMs: number;
}

export interface LbInstance {
  id: string;
  url: string;
  source: string;
  health: 'up' | 'down' | 'draining';
  available: boolean;
  reason: string;
  since: string;
  inflight: number;
  foreignLoad: number;
  maxConcurrency: number;
  reported: { inflight: number; rps: number; eventLoopDelayMs: number; eventLoopUtilization: number; p95LatencyMs: number; activeMembers: number } | null;
  lastReportAgeMs: number | null;
  ringShare: number;
  served: number;
  errors: number;
}

export interface LbStatus {
  balancer: { algorithm: string; balanceFactor: number; minLoad: number; vnodes: number };
  instances: LbInstance[];
  totals: { instances: number; available: number; inflight: number; served: number; retries: number; ejections: number; rejected: number };
  queue: { length: number; clients: number; max: number };
  upstreams: Record<string, Array<{ id: string; url: string; health: string; inflight: number; served: number; errors: number }>>;
  /** The balancer's last 50 membership and health decisions, newest first. */
  events: LbEvent[];
}

export type LbEventKind = 'joined' | 'withdrawn' | 'draining' | 'resumed' | 'ejected' | 'readmitted' | 'removed';

export interface LbEvent {
  at: string;
  instance: string;
  event: LbEventKind;
  reason: string;
}

/** A scaling decision of the operator or the local autoscaler (GET /api/v1/admin/cluster/decisions). */
export interface ScalingDecision {
  from: number;
  to: number;
  reason: string;
  message: string;
  at: string;
  group?: string;
}

export interface Page<T> {
  items: T[];
}

// ---- charging service (/api/v1/charging, docs/charging.md)

export interface Pile {
  id: string;
  stationId: string;
  stationName: string;
  state: 'available' | 'occupied' | 'charging' | 'faulted' | 'unavailable' | 'offline';
  enabled: boolean;
  ocppStatus: string | null;
  errorCode: string | null;
  maxPowerW: number | null;
  vendor: string | null;
  model: string | null;
  lastSeenAt: string | null;
  /** Operators only: the car parked at the pile. */
  vin?: string | null;
  plate?: string | null;
  energyWh: number | null;
  powerW: number | null;
  socPct: number | null;
  measuredAt: string | null;
}

export interface ChargingReservation {
  id: string;
  pileId: string;
  stationId: string;
  memberId: string | null;
  vehicleId: string | null;
  slotStart: string;
  slotEnd: string;
  status: string;
  energyWh: number | null;
  failure: string | null;
  createdAt: string;
}

export interface ChargingTransaction {
  id: number;
  pileId: string;
  startedAt: string;
  stoppedAt: string | null;
  energyWh: number | null;
  amountFen: number | null;
  status: string;
}

export interface PilePlan {
  pileId: string;
  plannedAt: string;
  sent: boolean;
  plan: {
    schedule: { pileId: string; vehicleId: string; slots: Array<{ start: string; powerW: number }>; energyWh: number; costFen: number; deadline: string | null; meetsDeadline: boolean; shortfallWh: number };
    unmet: Array<{ pileId: string; reason: string; shortfallWh: number; message: string }>;
  } | null;
}

export type TariffBand = 'peak' | 'flat' | 'valley';

/** A station's plans with what they are drawn against: the power cap and the tariff bands over the horizon. */
export interface StationPlan {
  stationId: string;
  capW: number;
  tariff: Array<{ start: string; end: string; band: TariffBand; fenPerKwh: number }>;
  items: PilePlan[];
}
