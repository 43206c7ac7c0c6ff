import { z } from 'zod';
import { fen, idParams, instant, int, money, nonEmpty, time, uuid } from './common';

/** Request schemas of the rental API: every body strict, every id a UUID, money integer fen. */
export const RESERVATION_STATUSES = ['active', 'converted', 'cancelled', 'expired'] as const;
export const RENTAL_STATUSES = ['unlocking', 'active', 'ended', 'failed'] as const;
export const VEHICLE_STATES = ['available', 'reserved', 'in_use', 'charging', 'maintenance', 'offline'] as const;

/** RFID card UIDs are 4, 7 or 10 bytes; stored as upper-case hex. */
export const cardUid = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/, 'must be a card UID of 4, 7 or 10 bytes in hex (8, 14 or 20 hex digits)')
  .transform((uid) => uid.toUpperCase());

/** ISO 3779 VIN: 17 characters, digits and capitals except I, O and Q. */
export const vin = z.string().regex(/^[A-HJ-NPR-Z0-9]{17}$/, 'must be a 17-character VIN (digits and capital letters except I, O, Q)');

export const reservationBody = z.object({ vehicleId: uuid }).strict();

export const rentalBody = z
  .object({ vehicleId: uuid.optional(), reservationId: uuid.optional() })
  .strict()
  .refine((b) => (b.vehicleId === undefined) !== (b.reservationId === undefined), {
    message: 'give either vehicleId (walk-up) or reservationId, not both',
    path: ['vehicleId'],
  });

export const returnBody = z.object({ stationId: uuid }).strict();
export const quoteQuery = z.object({ stationId: uuid }).strict();
export const cardBody = z.object({ uid: cardUid }).strict();

export const historyQuery = z
  .object({
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
    before: instant.optional(),
  })
  .strict();

const stationFields = {
  name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  lat: z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90'),
  lng: z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180'),
  geofenceRadiusM: z.number().int('must be whole metres').min(1, 'must be at least 1 m').max(10_000, 'must be at most 10 000 m'),
  capacity: z.number().int('must be a whole number').min(0, 'must not be negative').max(10_000, 'must be at most 10 000'),
  returnPolicy: z.enum(['round-trip', 'open'], 'must be "round-trip" or "open"'),
};
export const stationBody = z.object(stationFields).strict();
export const stationPatch = z.object(stationFields).partial().strict().refine(nonEmpty, { message: 'change at least one field' });

const vehicleFields = {
  plate: z.string().trim().min(2, 'must be 2 to 16 characters').max(16, 'must be 2 to 16 characters'),
  model: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  // Stored to 0.01 kWh: anything smaller would round to 0.
  batteryKwh: z.number().min(0.01, 'must be at least 0.01 kWh').max(1000, 'must be at most 1000 kWh'),
  ratedRangeKm: z.number().int('must be whole km').positive('must be positive').max(5000, 'must be at most 5000 km'),
  homeStationId: uuid,
};
export const vehicleBody = z
  .object({
    ...vehicleFields,
    vin,
    /** Where the car is parked now; its home station when not given. */
    stationId: uuid.optional(),
    socPct: z.number().min(0, 'must be 0 to 100').max(100, 'must be 0 to 100').default(100),
    odometerM: z.number().int('must be whole metres').nonnegative('must not be negative').default(0),
    state: z.enum(['available', 'maintenance'], 'a new car is "available" or "maintenance"').default('available'),
  })
  .strict();
export const vehiclePatch = z.object(vehicleFields).partial().strict().refine(nonEmpty, { message: 'change at least one field' });
export const vehicleCommandBody = z.object({ action: z.enum(['lock', 'unlock', 'immobilise'], 'must be "lock", "unlock" or "immobilise"') }).strict();
/** An operator's access to one car's terminal, for this many minutes (docs/vehicles.md, "Operators' access"). */
export const vehicleAccessBody = z
  .object({ minutes: z.number('must be a number').int('must be an integer').min(1, 'must be at least 1').max(480, 'must be at most 480').default(30) })
  .strict();
export const memberCommandBody = z.object({ action: z.enum(['unlock', 'lock', 'locate'], 'must be "unlock", "lock" or "locate"') }).strict();
export const vehicleStateBody = z
  .object({ state: z.enum(['available', 'maintenance', 'offline'], 'must be "available", "maintenance" or "offline"') })
  .strict();

/** Whether the runtime knows an IANA time zone. */
const knownTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};
export const timeZone = z
  .string()
  .min(1, 'is required')
  .max(64, 'must be at most 64 characters')
  .refine(knownTimeZone, 'must be an IANA time zone, e.g. Asia/Shanghai');
const wholeHour = (max: number) => z.number('must be a number').int('must be a whole hour').min(0, `must be 0 to ${max}`).max(max, `must be 0 to ${max}`);
/** A per-minute rate for the local hours [fromHour, toHour); toHour at or before fromHour wraps past midnight. */
export const timeBand = z
  .object({ fromHour: wholeHour(23), toHour: wholeHour(24), perMinuteFen: fen })
  .strict()
  .refine((b) => b.toHour % 24 !== b.fromHour, { message: 'must differ from fromHour', path: ['toHour'] })
  .meta({ id: 'TimeBand' });
/**
 * The hours a band covers. zod runs the array's refinement even when a band failed its own
 * checks, so a band whose hours are not whole hours in range covers none (its own issue is reported).
 */
const bandHours = (b: { fromHour: number; toHour: number }): number[] => {
  const hour = (h: unknown, max: number) => Number.isInteger(h) && (h as number) >= 0 && (h as number) <= max;
  if (!hour(b.fromHour, 23) || !hour(b.toHour, 24)) return [];
  const end = b.toHour <= b.fromHour ? b.toHour + 24 : b.toHour;
  return Array.from({ length: end - b.fromHour }, (_, i) => (b.fromHour + i) % 24);
};
export const timeBands = z
  .array(timeBand)
  .max(24, 'must have at most 24 bands')
  .superRefine((bands, ctx) => {
    const owner = new Map<number, number>();
    bands.forEach((band, index) => {
      const clash = bandHours(band).find((hour) => owner.has(hour));
      if (clash !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'fromHour'], message: `overlaps band ${owner.get(clash)} at ${clash}:00` });
      for (const hour of bandHours(band)) owner.set(hour, index);
    });
  });
const vehicleModel = z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters');

export const planBody = z
  .object({
    name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
    /** Only cars of this model (null: every model). */
    vehicleModel: vehicleModel.nullable().default(null),
    /** Only rentals starting at this station (null: every station). */
    stationId: uuid.nullable().default(null),
    /** The local hours of the bands; the platform's PRICING_TIME_ZONE when not given. */
    timeZone: timeZone.optional(),
    timeBands: timeBands.default([]),
    perMinuteFen: fen,
    perKmFen: fen,
    dailyCapFen: fen.nullable().default(null),
    minimumFen: fen.default(0),
    reservationFeeFen: fen.default(0),
    holdMinutes: z.number().int('must be whole minutes').min(1, 'must be at least 1 minute').max(1440, 'must be at most 1440 minutes').default(15),
    oneWayFeeFen: fen.default(0),
    oneWayPerKmFen: fen.default(0),
    depositFen: fen.default(0),
    validFrom: instant,
    validTo: instant.nullable().default(null),
  })
  .strict()
  .refine((p) => p.validTo === null || Date.parse(p.validTo) > Date.parse(p.validFrom), { message: 'must be after validFrom', path: ['validTo'] });
export const planPatch = z.object({ validTo: instant.nullable() }).strict();
/** Which plan prices a car of `model` starting at `stationId` at `at` (now when not given). */
export const applicablePlanQuery = z.object({ model: vehicleModel.optional(), stationId: uuid.optional(), at: instant.optional() }).strict();
/** The plan for one car where it stands (member side). */
export const currentPlanQuery = z.object({ vehicleId: uuid.optional() }).strict();
export const rentalSettingsBody = z
  .object({
    minBalanceFen: fen.optional(),
    minSocPct: z.number('must be a number').min(0, 'must be 0 to 100').max(100, 'must be 0 to 100').optional(),
  })
  .strict()
  .refine(nonEmpty, { message: 'change at least one field' });

export const adminListQuery = (statuses: readonly [string, ...string[]]) =>
  z
    .object({
      status: z.enum(statuses, `must be one of ${statuses.join(', ')}`).optional(),
      memberId: uuid.optional(),
      vehicleId: uuid.optional(),
      limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    })
    .strict();
export const vehicleListQuery = z
  .object({
    stationId: uuid.optional(),
    state: z.enum(VEHICLE_STATES, 'must be a vehicle state').optional(),
  })
  .strict();

export const cardParams = z.object({ uid: cardUid.describe('The card UID: 4, 7 or 10 bytes in hex') });
export const stationParams = idParams('station');
export const vehicleParams = idParams('car');
export const rentalParams = idParams('rental');
export const reservationParams = idParams('reservation');
export const planParams = idParams('pricing plan');

// ---- answers

export const station = z
  .object({
    id: z.uuid(),
    name: z.string(),
    lat: z.number(),
    lng: z.number(),
    geofenceRadiusM: int,
    capacity: int,
    returnPolicy: z.enum(['round-trip', 'open']),
    availableCars: int,
    freeParking: int,
  })
  .meta({ id: 'Station' });
export const availableVehicle = z
  .object({
    id: z.uuid(),
    vin: z.string(),
    plate: z.string(),
    model: z.string(),
    stationId: z.uuid().nullable(),
    state: z.string(),
    socPct: z.number(),
    estimatedRangeKm: int,
  })
  .meta({ id: 'AvailableVehicle' });
export const vehicle = z
  .object({
    id: z.uuid(),
    vin: z.string(),
    plate: z.string(),
    model: z.string(),
    batteryKwh: z.number(),
    ratedRangeKm: int,
    homeStationId: z.uuid(),
    stationId: z.uuid().nullable().describe('Null while in use'),
    lat: z.number().nullable(),
    lng: z.number().nullable(),
    socPct: z.number(),
    odometerM: int,
    doorsLocked: z.boolean(),
    reportedAt: time.nullable(),
    state: z.enum(VEHICLE_STATES),
    version: int,
    online: z.boolean().describe("The car's terminal is connected to the vehicle link now"),
    lastSeenAt: time.nullable().describe('Last message from the car'),
    speedKmh: z.number().nullable(),
    ignition: z.boolean().nullable(),
    cableConnected: z.boolean().nullable().describe('Charging cable plugged in'),
    doorsOpen: z.boolean(),
  })
  .meta({ id: 'Vehicle' });
export const pricingPlan = z
  .object({
    id: z.uuid(),
    name: z.string(),
    perMinuteFen: money('Per started minute'),
    perKmFen: money('Per km driven'),
    dailyCapFen: int.nullable().describe('Cap of the time fee per 24 hours of rental, in fen'),
    minimumFen: money('Least fee of a rental (time plus distance)'),
    reservationFeeFen: money('Charged when a reservation runs out unused'),
    holdMinutes: int,
    oneWayFeeFen: money('Flat one-way fee'),
    oneWayPerKmFen: money('One-way fee per km between the stations'),
    depositFen: money('Deposit a member must hold to rent'),
    validFrom: time,
    validTo: time.nullable(),
    vehicleModel: z.string().nullable().describe('Only cars of this model; null for every model'),
    stationId: z.uuid().nullable().describe('Only rentals starting at this station; null for every station'),
    timeZone: z.string().describe('IANA zone of the time bands'),
    timeBands: z.array(z.object({ fromHour: int, toHour: int, perMinuteFen: int })).describe('Per-minute rates by local hour; other hours pay perMinuteFen'),
    publishedBy: z.uuid().nullable(),
    createdAt: time,
  })
  .meta({ id: 'PricingPlan' });
export const reservation = z
  .object({
    id: z.uuid(),
    memberId: z.uuid(),
    vehicleId: z.uuid(),
    stationId: z.uuid(),
    planId: z.uuid(),
    status: z.enum(RESERVATION_STATUSES),
    createdAt: time,
    expiresAt: time,
    endedAt: time.nullable(),
    feeFen: money('Reservation fee charged if it expires unused'),
  })
  .meta({ id: 'Reservation' });
export const feeBreakdown = z
  .object({
    planId: z.uuid(),
    minutes: int,
    periods: int.describe('24-hour periods the rental touched (each has its own cap)'),
    timeFen: money('Time fee'),
    bands: z
      .array(z.object({ perMinuteFen: int, minutes: int }))
      .optional()
      .describe('The minutes by rate in trip order, before the cap (absent on rentals priced before time bands)'),
    distanceM: int,
    distanceFen: money('Distance fee'),
    capApplied: z.boolean(),
    minimumApplied: z.boolean(),
    oneWayFen: money('One-way fee'),
    totalFen: money('Total'),
  })
  .meta({ id: 'FeeBreakdown' });
export const rental = z
  .object({
    id: z.uuid(),
    memberId: z.uuid(),
    vehicleId: z.uuid(),
    reservationId: z.uuid().nullable(),
    cardUid: z.string().nullable(),
    planId: z.uuid(),
    startStationId: z.uuid(),
    endStationId: z.uuid().nullable(),
    startedAt: time,
    endedAt: time.nullable(),
    startOdometerM: int,
    endOdometerM: int.nullable(),
    startSocPct: z.number(),
    endSocPct: z.number().nullable(),
    unlockCommandId: z.uuid(),
    price: feeBreakdown.nullable(),
    totalFen: int.nullable().describe('The bill, in fen, once ended'),
    status: z.enum(RENTAL_STATUSES),
  })
  .meta({ id: 'Rental' });
export const RETURN_REFUSALS = [
  'round-trip-station',
  'station-full',
  'vehicle-not-reporting',
  'doors-open',
  'doors-unlocked',
  'ignition-on',
  'plug-in-required',
  'position-unknown',
  'outside-geofence',
] as const;
export const returnRefusal = z.object({ reason: z.enum(RETURN_REFUSALS), detail: z.string() }).meta({ id: 'ReturnRefusal' });
export const returnQuote = z
  .object({ rentalId: z.uuid(), stationId: z.uuid(), oneWay: z.boolean(), price: feeBreakdown, refusals: z.array(returnRefusal), canReturn: z.boolean() })
  .meta({ id: 'ReturnQuote' });
export const PLAN_SCOPES = ['model-station', 'model', 'station', 'fleet'] as const;
export const applicablePlan = z
  .object({ plan: pricingPlan.nullable(), scope: z.enum(PLAN_SCOPES).nullable().describe('How specific the chosen plan is; null when none is in force') })
  .meta({ id: 'ApplicablePlan' });
export const rentalSettings = z
  .object({
    minBalanceFen: money('Balance a member must hold to reserve or rent'),
    minSocPct: z.number().describe('Cars below this state of charge are not offered and cannot be taken'),
    updatedBy: z.uuid().nullable(),
    updatedAt: time,
  })
  .meta({ id: 'RentalSettings' });
export const card = z.object({ uid: z.string().describe('Upper-case hex'), memberId: z.uuid().nullable(), boundAt: time.nullable() }).meta({ id: 'Card' });
export const currentReservation = z.object({ reservation: reservation.nullable() });
export const memberCommandResult = z.object({ commandId: z.uuid(), rentalId: z.uuid(), action: z.enum(['unlock', 'lock', 'locate']), ok: z.literal(true) });
export const vehicleCommandResult = z.object({ commandId: z.uuid(), vin: z.string(), action: z.enum(['lock', 'unlock', 'immobilise']), ok: z.literal(true) });
/** A member's offline key for one car (docs/vehicles.md, "App keys"): the app presents `key` over the short-range link. */
export const appKey = z.object({
  key: z.string(),
  vehicleId: z.uuid(),
  vin: z.string(),
  hold: z.enum(['rental', 'reservation', 'walk-up']),
  validFrom: time,
  validUntil: time,
});
export const vehicleAccess = z.object({ vehicleId: z.uuid(), vin: z.string(), memberId: z.uuid(), validUntil: time });
/** A car terminal's MQTT credential as issued: the secret is in this answer only. */
export const vehicleCredential = z.object({ vehicleId: z.uuid(), vin: z.string(), secret: z.string() });
export const vehicleCredentialStatus = z.object({ vehicleId: z.uuid(), vin: z.string(), issuedAt: time.nullable() });

export type Station = z.output<typeof station>;
export type AvailableVehicle = z.output<typeof availableVehicle>;
export type Vehicle = z.output<typeof vehicle>;
export type VehicleState = (typeof VEHICLE_STATES)[number];
export type PricingPlan = z.output<typeof pricingPlan>;
export type Reservation = z.output<typeof reservation>;
export type FeeBreakdown = z.output<typeof feeBreakdown>;
export type Rental = z.output<typeof rental>;
export type ReturnRefusal = z.output<typeof returnRefusal>;
export type ReturnQuote = z.output<typeof returnQuote>;
export type Card = z.output<typeof card>;
export type TimeBand = z.output<typeof timeBand>;
export type ApplicablePlan = z.output<typeof applicablePlan>;
export type RentalSettings = z.output<typeof rentalSettings>;
