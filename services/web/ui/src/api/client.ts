// The platform's one client retry rule (Retry-After honoured with jitter, bounded attempts, only
// idempotent requests resent after a failure that may have done work); a module with no imports.
import { withRetry } from '../../../../kit/src/http/retry';
import type {
  MemberSummary as AdminMember,
  AdminDamageReport,
  DamageReport,
  ReportCharge,
  ReportPhoto,
  AvailableVehicle,
  Card,
  DeviceChargeReview,
  ChargingReservation,
  ChargingTransaction,
  Pile,
  StationPlan,
  StationCharging,
  AmbientSource,
  ApplicablePlan,
  DepositRefund,
  RentalSettings,
  LbStatus,
  ScalingDecision,
  LedgerEntry,
  Licence,
  Member,
  Notification,
  Page,
  Payment,
  PricingPlan,
  Rental,
  Reservation,
  ReturnQuote,
  Session,
  SmsLogEntry,
  SmsPreferences,
  SmsSettings,
  Station,
  SyncState,
  Vehicle,
  VehicleState,
  Wallet,
} from '@evshare/api/schemas';

export interface InvalidParam {
  name: string;
  reason: string;
}

/** An RFC 7807 answer (or a network failure, status 0) as the UI shows it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The problem kind: the slug of `urn:evshare:problem:<kind>`, or `network`. */
    readonly kind: string,
    readonly detail: string,
    readonly invalidParams: InvalidParam[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(`${status} ${kind}: ${detail}`);
  }
}

type Query = Record<string, string | number | undefined>;

/**
 * The one way the UI talks to the back end (the patent's web information interaction module).
 * Same origin through the gateway; the session is the HttpOnly `evs_session` cookie that login
 * and registration set, so no key is ever readable by page scripts.
 */
export class Api {
  /** Called when a request finds the session gone (expired, revoked, logged out elsewhere). */
  onUnauthenticated: () => void = () => undefined;

  async request<T>(method: string, path: string, options: { body?: unknown; raw?: Blob; query?: Query; headers?: Record<string, string> } = {}): Promise<T> {
    const query = options.query ? Object.entries(options.query).filter(([, v]) => v !== undefined && v !== '') : [];
    const url = query.length ? `${path}?${new URLSearchParams(query.map(([k, v]) => [k, String(v)])).toString()}` : path;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    // A photo goes as its own bytes, typed as the browser read it (the server checks the bytes).
    if (options.raw) headers['content-type'] = options.raw.type || 'application/octet-stream';
    let res: Response;
    try {
      const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      res = await withRetry(() => fetch(url, { method, headers, credentials: 'same-origin', body }), { method, headers });
    } catch (error) {
      throw new ApiError(0, 'network', (error as Error).message);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const problem = (data ?? {}) as Record<string, unknown>;
      const kind = typeof problem.type === 'string' ? problem.type.replace(/^urn:evshare:problem:/, '') : `http-${res.status}`;
      const { type: _t, title: _ti, status: _s, detail, instance: _i, 'invalid-params': params, ...extra } = problem;
      const error = new ApiError(
        res.status,
        kind,
        typeof detail === 'string' ? detail : res.statusText,
        Array.isArray(params) ? (params as InvalidParam[]) : [],
        extra,
      );
      if (res.status === 401 && kind === 'unauthenticated') this.onUnauthenticated();
      throw error;
    }
    return data as T;
  }

  // ---- auth service
  session = () => this.request<Session>('GET', '/api/v1/auth/session');
  login = (account: string, password: string) => this.request<Session>('POST', '/api/v1/auth/login', { body: { account, password } });
  logout = () => this.request<void>('POST', '/api/v1/auth/logout');
  sendRegistrationCode = (phone: string, locale: 'zh-CN' | 'en') =>
    this.request<{ expiresInSeconds: number }>('POST', '/api/v1/auth/register/code', { body: { phone, locale } });
  register = (body: { phone: string; code: string; password: string; displayName: string; locale: 'zh-CN' | 'en' }) =>
    this.request<Session>('POST', '/api/v1/auth/register', { body });
  changePassword = (currentPassword: string, newPassword: string) =>
    this.request<Session>('POST', '/api/v1/auth/password', { body: { currentPassword, newPassword } });
  deregister = (password: string) => this.request<void>('POST', '/api/v1/auth/deregister', { body: { password } });

  // ---- member
  me = () => this.request<Member>('GET', '/api/v1/me');
  updateMe = (displayName: string) => this.request<Member>('PATCH', '/api/v1/me', { body: { displayName } });
  smsPreferences = () => this.request<SmsSettings>('GET', '/api/v1/me/sms-preferences');
  updateSmsPreferences = (choices: SmsPreferences) => this.request<SmsSettings>('PUT', '/api/v1/me/sms-preferences', { body: choices });
  notifications = () => this.request<Page<Notification>>('GET', '/api/v1/notifications');
  markRead = (id: string) => this.request<void>('POST', `/api/v1/notifications/${id}/read`);
  stations = () => this.request<Page<Station>>('GET', '/api/v1/stations');
  stationVehicles = (id: string) => this.request<Page<AvailableVehicle>>('GET', `/api/v1/stations/${id}/vehicles`);
  currentPlan = () => this.request<PricingPlan>('GET', '/api/v1/pricing-plans/current');
  reserve = (vehicleId: string) => this.request<Reservation>('POST', '/api/v1/reservations', { body: { vehicleId } });
  cancelReservation = (id: string) => this.request<Reservation>('DELETE', `/api/v1/reservations/${id}`);
  rent = (body: { vehicleId: string } | { reservationId: string }) => this.request<Rental>('POST', '/api/v1/rentals', { body });
  reservations = (before?: string) => this.request<Page<Reservation> & { next?: string }>('GET', '/api/v1/reservations', { query: { limit: 20, before } });
  rentals = (before?: string) => this.request<Page<Rental> & { next?: string }>('GET', '/api/v1/rentals', { query: { limit: 20, before } });
  rental = (id: string) => this.request<Rental>('GET', `/api/v1/rentals/${id}`);
  quote = (id: string, stationId: string) => this.request<ReturnQuote>('GET', `/api/v1/rentals/${id}/quote`, { query: { stationId } });
  returnCar = (id: string, stationId: string) => this.request<Rental>('POST', `/api/v1/rentals/${id}/return`, { body: { stationId } });
  /** The renting member's own command to the car; answered with the car's acknowledgement. */
  commandRentedCar = (id: string, action: CarAction) =>
    this.request<{ commandId: string; action: CarAction; ok: true }>('POST', `/api/v1/rentals/${id}/commands`, { body: { action } });
  reports = (rentalId: string) => this.request<Page<DamageReport>>('GET', '/api/v1/reports', { query: { rentalId } });
  report = (body: { rentalId: string; kind: 'damage' | 'dirt'; note: string; location?: string }) =>
    this.request<DamageReport>('POST', '/api/v1/reports', { body });
  addReportPhoto = (id: string, photo: Blob) => this.request<ReportPhoto>('POST', `/api/v1/reports/${id}/photos`, { raw: photo });
  cards = () => this.request<Page<Card>>('GET', '/api/v1/cards');
  bindCard = (uid: string) => this.request<Card>('POST', '/api/v1/cards', { body: { uid } });
  unbindCard = (uid: string) => this.request<void>('DELETE', `/api/v1/cards/${encodeURIComponent(uid)}`);
  wallet = () => this.request<Wallet>('GET', '/api/v1/wallet');
  ledger = (before?: number) =>
    this.request<Page<LedgerEntry> & { nextBefore: number | null }>('GET', '/api/v1/wallet/ledger', { query: { limit: 50, before } });
  topUp = (amountFen: number, provider: string, idempotencyKey: string) =>
    this.request<Payment>('POST', '/api/v1/wallet/top-ups', { body: { amountFen, provider }, headers: { 'idempotency-key': idempotencyKey } });
  refundDeposit = (provider: string, idempotencyKey: string) =>
    this.request<DepositRefund>('POST', '/api/v1/wallet/deposit-refunds', { body: { provider }, headers: { 'idempotency-key': idempotencyKey } });
  depositRefunds = () => this.request<Page<DepositRefund>>('GET', '/api/v1/wallet/deposit-refunds');
  moveToDeposit = (amountFen: number, idempotencyKey: string) =>
    this.request<Wallet>('POST', '/api/v1/wallet/deposit', { body: { amountFen }, headers: { 'idempotency-key': idempotencyKey } });
  licence = () => this.request<Licence>('GET', '/api/v1/me/licence');
  submitLicence = (number: string, expiresOn: string) => this.request<Licence>('PUT', '/api/v1/me/licence', { body: { number, expiresOn } });

  // ---- operators
  adminMembers = (query: { licence?: string; status?: string; q?: string }) => this.request<Page<AdminMember>>('GET', '/api/v1/admin/members', { query });
  decideLicence = (id: string, decision: 'approve' | 'reject', reason?: string) =>
    this.request<Licence>('POST', `/api/v1/admin/members/${id}/licence`, { body: reason ? { decision, reason } : { decision } });
  suspend = (id: string, reason: string) => this.request<unknown>('POST', `/api/v1/admin/members/${id}/suspend`, { body: { reason } });
  reactivate = (id: string) => this.request<unknown>('POST', `/api/v1/admin/members/${id}/reactivate`, { body: {} });
  memberLedger = (id: string) => this.request<Page<LedgerEntry>>('GET', `/api/v1/admin/members/${id}/ledger`, { query: { limit: 50 } });
  reviews = (query: { status?: string; kind?: string }) =>
    this.request<Page<DeviceChargeReview>>('GET', '/api/v1/admin/reviews', { query: { ...query, limit: 200 } });
  decideReview = (id: string, body: { decision: 'approve' | 'waive' } | { decision: 'adjust'; amountFen: number }) =>
    this.request<DeviceChargeReview>('POST', `/api/v1/admin/reviews/${id}/decision`, { body });
  adminReports = (task?: string) => this.request<Page<AdminDamageReport>>('GET', '/api/v1/admin/reports', { query: { task, limit: 200 } });
  reportTask = (id: string, body: { action: 'open'; kind: 'repair' | 'cleaning' } | { action: 'close' }) =>
    this.request<AdminDamageReport>('POST', `/api/v1/admin/reports/${id}/task`, { body });
  chargeReport = (id: string, body: { amountFen: number; note: string }) => this.request<ReportCharge>('POST', `/api/v1/admin/reports/${id}/charge`, { body });
  sms = (phone?: string) => this.request<Page<SmsLogEntry>>('GET', '/api/v1/admin/sms', { query: { phone, limit: 100 } });
  createStation = (body: Omit<Station, 'id' | 'availableCars' | 'freeParking'>) => this.request<Station>('POST', '/api/v1/admin/stations', { body });
  updateStation = (id: string, body: Partial<Omit<Station, 'id' | 'availableCars' | 'freeParking'>>) =>
    this.request<Station>('PATCH', `/api/v1/admin/stations/${id}`, { body });
  vehicles = (query: { stationId?: string; state?: string } = {}) => this.request<Page<Vehicle>>('GET', '/api/v1/admin/vehicles', { query });
  createVehicle = (body: {
    vin: string;
    plate: string;
    model: string;
    batteryKwh: number;
    ratedRangeKm: number;
    homeStationId: string;
    socPct?: number;
    state?: 'available' | 'maintenance';
  }) => this.request<Vehicle>('POST', '/api/v1/admin/vehicles', { body });
  updateVehicle = (id: string, body: Partial<{ plate: string; model: string; batteryKwh: number; ratedRangeKm: number; homeStationId: string }>) =>
    this.request<Vehicle>('PATCH', `/api/v1/admin/vehicles/${id}`, { body });
  commandVehicle = (id: string, action: 'lock' | 'unlock' | 'immobilise') =>
    this.request<{ commandId: string; ok: true }>('POST', `/api/v1/admin/vehicles/${id}/commands`, { body: { action } });
  setVehicleState = (id: string, state: Extract<VehicleState, 'available' | 'maintenance' | 'offline'>) =>
    this.request<Vehicle>('POST', `/api/v1/admin/vehicles/${id}/state`, { body: { state } });
  plans = () => this.request<Page<PricingPlan>>('GET', '/api/v1/admin/pricing-plans');
  /** Without `timeZone`, the platform's PRICING_TIME_ZONE. */
  publishPlan = (body: Omit<PricingPlan, 'id' | 'publishedBy' | 'createdAt' | 'timeZone'> & { timeZone?: string }) =>
    this.request<PricingPlan>('POST', '/api/v1/admin/pricing-plans', { body });
  applicablePlan = (query: { model?: string; stationId?: string }) => this.request<ApplicablePlan>('GET', '/api/v1/admin/pricing-plans/applicable', { query });
  rentalSettings = () => this.request<RentalSettings>('GET', '/api/v1/admin/rental-settings');
  updateRentalSettings = (body: { minBalanceFen?: number; minSocPct?: number }) =>
    this.request<RentalSettings>('PATCH', '/api/v1/admin/rental-settings', { body });
  adminDepositRefunds = () => this.request<Page<DepositRefund>>('GET', '/api/v1/admin/deposit-refunds', { query: { limit: 100 } });
  endPlan = (id: string, validTo: string | null) => this.request<PricingPlan>('PATCH', `/api/v1/admin/pricing-plans/${id}`, { body: { validTo } });
  adminReservations = (status?: string) => this.request<Page<Reservation>>('GET', '/api/v1/admin/reservations', { query: { status, limit: 100 } });
  adminRentals = (status?: string) => this.request<Page<Rental>>('GET', '/api/v1/admin/rentals', { query: { status, limit: 100 } });
  /** The balancer's view, through the APP (the gateways serve /lb/status only to operators' networks). */
  lbStatus = async () => {
    const page = await this.request<Page<{ gateway: string; at: string; status: LbStatus }>>('GET', '/api/v1/admin/cluster/balancer');
    const newest = page.items[0];
    if (!newest) throw new Error('No gateway has reported its status yet');
    return newest.status;
  };
  clusterDecisions = () => this.request<Page<ScalingDecision>>('GET', '/api/v1/admin/cluster/decisions');

  // ---- charging service
  piles = (stationId?: string) => this.request<Page<Pile>>('GET', '/api/v1/charging/piles', { query: { stationId } });
  bookCharging = (body: { pileId: string; slotStart: string; slotEnd: string; energyWh?: number }) =>
    this.request<ChargingReservation>('POST', '/api/v1/charging/reservations', { body });
  chargingReservations = () => this.request<Page<ChargingReservation>>('GET', '/api/v1/charging/reservations');
  cancelCharging = (id: string) => this.request<unknown>('POST', `/api/v1/charging/reservations/${id}/cancel`, { body: {} });
  chargingSessions = () => this.request<Page<ChargingTransaction>>('GET', '/api/v1/charging/transactions');
  setPileEnabled = (id: string, enabled: boolean) =>
    this.request<{ pileStatus: string }>('POST', `/api/v1/charging/piles/${encodeURIComponent(id)}/availability`, { body: { enabled } });
  stationPlan = (stationId: string) => this.request<StationPlan>('GET', `/api/v1/charging/stations/${stationId}/plan`);
  /** Operator onboarding: the pile's password and the car's secret are answered only by these calls. */
  registerPile = (body: { id: string; stationId: string; maxPowerW: number }) =>
    this.request<{ id: string; stationId: string; maxPowerW: number; password: string }>('POST', '/api/v1/charging/piles', { body });
  rotatePilePassword = (id: string) => this.request<{ id: string; password: string }>('POST', `/api/v1/charging/piles/${encodeURIComponent(id)}/password`);
  stationCharging = (stationId: string) => this.request<StationCharging>('GET', `/api/v1/charging/stations/${stationId}/charging`);
  setStationCharging = (stationId: string, body: { chargingCapW?: number | null; ambient?: AmbientSource }) =>
    this.request<StationCharging>('PATCH', `/api/v1/charging/stations/${stationId}/charging`, { body });
  issueVehicleCredential = (vehicleId: string) =>
    this.request<{ vehicleId: string; vin: string; secret: string }>('POST', `/api/v1/admin/vehicles/${vehicleId}/credential`);
  planStation = (stationId: string) => this.request<unknown>('POST', `/api/v1/charging/stations/${stationId}/plan`, { body: {} });

  /** The periodic poll with its validator: `undefined` when nothing changed (304). */
  async sync(etag: string | undefined): Promise<{ state: SyncState; etag: string } | undefined> {
    let res: Response;
    try {
      const headers: Record<string, string> = etag ? { 'if-none-match': etag, accept: 'application/json' } : { accept: 'application/json' };
      res = await withRetry(() => fetch('/api/v1/sync', { credentials: 'same-origin', headers, cache: 'no-store' }), { method: 'GET', headers });
    } catch (error) {
      throw new ApiError(0, 'network', (error as Error).message);
    }
    if (res.status === 304) return undefined;
    if (res.status === 401) {
      this.onUnauthenticated();
      throw new ApiError(401, 'unauthenticated', 'session ended');
    }
    if (!res.ok) throw new ApiError(res.status, `http-${res.status}`, res.statusText);
    return { state: (await res.json()) as SyncState, etag: res.headers.get('etag') ?? '' };
  }
}

export type CarAction = 'unlock' | 'lock' | 'locate';

export const api = new Api();
