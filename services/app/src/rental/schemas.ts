import { z } from 'zod';

/** Request schemas of the rental API: every body strict, every id a UUID, money integer fen. */
export const uuid = z.string().uuid('must be a UUID');

/** 100 million yuan: far above any real fee, far below where integer fen lose precision. */
const MAX_FEN = 10_000_000_000;
export const fen = z.number().int('must be a whole number of fen').nonnegative('must not be negative').max(MAX_FEN, `must be at most ${MAX_FEN} fen`);

/** RFID card UIDs are 4, 7 or 10 bytes; stored as upper-case hex. */
export const cardUid = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/, 'must be a card UID of 4, 7 or 10 bytes in hex (8, 14 or 20 hex digits)')
  .transform((uid) => uid.toUpperCase());

/** ISO 3779 VIN: 17 characters, digits and capitals except I, O and Q. */
export const vin = z.string().regex(/^[A-HJ-NPR-Z0-9]{17}$/, 'must be a 17-character VIN (digits and capital letters except I, O, Q)');

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2024-05-01T08:00:00Z' });
const nonEmpty = <T extends Record<string, unknown>>(body: T) => Object.values(body).some((value) => value !== undefined);

export const reservationBody = z.object({ vehicleId: uuid }).strict();

export const rentalBody = z
  .object({ vehicleId: uuid.optional(), reservationId: uuid.optional() })
  .strict()
  .refine((b) => (b.vehicleId === undefined) !== (b.reservationId === undefined), { message: 'give either vehicleId (walk-up) or reservationId, not both', path: ['vehicleId'] });

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
export const vehicleStateBody = z.object({ state: z.enum(['available', 'maintenance', 'offline'], 'must be "available", "maintenance" or "offline"') }).strict();

export const planBody = z
  .object({
    name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
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
    state: z.enum(['available', 'reserved', 'in_use', 'charging', 'maintenance', 'offline'], 'must be a vehicle state').optional(),
  })
  .strict();
