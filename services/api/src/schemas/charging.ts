import { z } from 'zod';
import { int, time, uuid } from './common';

/** Request and answer schemas of the charging service's API (/api/v1/charging, docs/charging.md). */
export const pileId = z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, 'must be 1 to 48 letters, digits, _ or -');
const isoTime = z.string().datetime({ offset: true, message: 'must be an ISO-8601 time' });
const MAX_SLOT_MS = 24 * 3600_000;
/** Operator pass-through for the remaining central-system calls; ocpp-rpc validates the params. */
export const OPERATOR_ACTIONS = [
  'GetConfiguration',
  'ChangeConfiguration',
  'TriggerMessage',
  'SetChargingProfile',
  'ClearChargingProfile',
  'UnlockConnector',
  'Reset',
] as const;

export const pileParams = z.object({ id: pileId.describe("The pile's id (its OCPP chargePointId)") });
export const chargingStationParams = z.object({ id: uuid.describe("The station's id") });
export const ocppCallParams = z.object({
  id: pileId.describe("The pile's id (its OCPP chargePointId)"),
  action: z.enum(OPERATOR_ACTIONS).describe('The OCPP 1.6 action'),
});
export const availabilityBody = z.object({ enabled: z.boolean() }).strict();
export const remoteStartBody = z.object({ idTag: z.string().min(1).max(20).optional(), connectorId: z.number().int().positive().optional() }).strict();
export const remoteStopBody = z.object({ transactionId: z.number().int().positive().optional() }).strict();
export const operatorCallBody = z.object({ params: z.record(z.string(), z.unknown()).default({}) }).strict();
export const chargingReservationBody = z
  .object({
    pileId,
    slotStart: isoTime,
    slotEnd: isoTime,
    vehicleId: uuid.optional(),
    energyWh: z.number().int().positive().max(200_000).optional(),
    connectorId: z.number().int().positive().max(10).default(1),
    /** Operators may book for a member. */
    memberId: uuid.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const start = Date.parse(b.slotStart);
    const end = Date.parse(b.slotEnd);
    // Unparseable times are already reported by their own fields.
    if (!Number.isFinite(start) || !Number.isFinite(end)) return;
    if (end <= start) ctx.addIssue({ code: 'custom', message: 'must be after slotStart', path: ['slotEnd'] });
    else if (end - start > MAX_SLOT_MS) ctx.addIssue({ code: 'custom', message: 'a slot lasts at most 24 hours', path: ['slotEnd'] });
  });
export const pileListQuery = z.object({ stationId: uuid.optional() }).strict();

// ---- answers

export const PILE_STATES = ['available', 'occupied', 'charging', 'faulted', 'unavailable', 'offline'] as const;
export const pile = z
  .object({
    id: z.string(),
    stationId: z.uuid(),
    stationName: z.string(),
    state: z.enum(PILE_STATES),
    enabled: z.boolean(),
    ocppStatus: z.string().nullable(),
    errorCode: z.string().nullable(),
    maxPowerW: int,
    vendor: z.string().nullable(),
    model: z.string().nullable(),
    lastSeenAt: time.nullable(),
    vin: z.string().nullable().optional().describe('Operators only: the car parked at the pile'),
    vehicleId: z.uuid().nullable().optional().describe('Operators only'),
    plate: z.string().nullable().optional().describe('Operators only'),
    boundAt: time.nullable(),
    energyWh: int.nullable(),
    powerW: int.nullable(),
    socPct: z.number().nullable(),
    measuredAt: time.nullable(),
  })
  .meta({ id: 'Pile' });
export const availabilityResult = z.object({
  id: z.string(),
  enabled: z.boolean(),
  pileStatus: z.string().describe("The pile's answer, `Offline`, or `Error: <code>`"),
});
export const remoteStartResult = z.object({ id: z.string(), idTag: z.string(), status: z.string().describe("The pile's answer (`Accepted`, `Rejected`)") });
export const remoteStopResult = z.object({ id: z.string(), transactionId: int, status: z.string().describe("The pile's answer (`Accepted`, `Rejected`)") });
export const ocppCallResult = z.object({ id: z.string(), action: z.enum(OPERATOR_ACTIONS), result: z.unknown().describe("The pile's OCPP answer") });

export const TARIFF_BANDS = ['peak', 'flat', 'valley'] as const;
const pileSchedule = z.object({
  pileId: z.string(),
  vehicleId: z.string(),
  slots: z.array(z.object({ start: time, powerW: z.number() })),
  energyWh: z.number(),
  storedWh: z.number(),
  targetWh: z.number(),
  shortfallWh: z.number(),
  costFen: z.number(),
  deadline: time.nullable(),
  meetsDeadline: z.boolean(),
});
const unmetDeadline = z.object({
  pileId: z.string(),
  vehicleId: z.string(),
  reason: z.enum(['cap', 'car-power', 'time', 'cold', 'battery']),
  shortfallWh: z.number(),
  message: z.string(),
});
export const pilePlan = z
  .object({
    pileId: z.string(),
    plannedAt: time,
    sent: z.boolean(),
    plan: z.object({
      schedule: pileSchedule,
      unmet: z.array(unmetDeadline),
      profile: z.unknown().describe('The OCPP csChargingProfiles sent to the pile'),
    }),
  })
  .meta({ id: 'PilePlan' });
export const noPilePlan = z.object({ pileId: z.string(), plan: z.null() });
export const stationPlan = z
  .object({
    stationId: z.uuid(),
    capW: int,
    tariff: z.array(z.object({ start: time, end: time, band: z.enum(TARIFF_BANDS), fenPerKwh: z.number() })),
    items: z.array(pilePlan),
  })
  .meta({ id: 'StationPlan' });
export const plannerResult = z.object({ schedules: z.array(pileSchedule), costFen: z.number(), unmet: z.array(unmetDeadline) });
export const chargingReservation = z
  .object({
    id: z.uuid(),
    pileId: z.string(),
    stationId: z.uuid(),
    memberId: z.uuid().nullable(),
    vehicleId: z.uuid().nullable(),
    connectorId: int,
    slotStart: time,
    slotEnd: time,
    status: z.enum(['booked', 'reserved', 'charging', 'completed', 'cancelled', 'expired', 'failed']),
    energyWh: int.nullable(),
    ocppReservationId: int,
    failure: z.string().nullable(),
    createdAt: time,
  })
  .meta({ id: 'ChargingReservation' });
export const bookedReservation = chargingReservation.extend({
  idTag: z.string().describe('The tag that starts the session: the member’s card, or the booking’s own token'),
});
export const cancelledReservation = z.object({
  id: z.uuid(),
  status: z.literal('cancelled'),
  pileStatus: z.string().optional().describe("The pile's answer to CancelReservation, when it held the reservation"),
});
export const chargingTransaction = z
  .object({
    id: int,
    pileId: z.string(),
    connectorId: int,
    memberId: z.uuid().nullable(),
    vehicleId: z.uuid().nullable(),
    startedAt: time,
    stoppedAt: time.nullable(),
    energyWh: z.number().nullable(),
    amountFen: z.number().nullable(),
    status: z.enum(['active', 'completed']),
    stopReason: z.string().nullable(),
    anomalies: z.array(z.string()).nullable(),
  })
  .meta({ id: 'ChargingTransaction' });

export type Pile = z.output<typeof pile>;
export type PilePlan = z.output<typeof pilePlan>;
export type StationPlan = z.output<typeof stationPlan>;
export type TariffBand = (typeof TARIFF_BANDS)[number];
export type ChargingReservation = z.output<typeof chargingReservation>;
export type ChargingTransaction = z.output<typeof chargingTransaction>;

/** Operators' onboarding (services/charging/src/pile-admin.ts). 1 W to 1 MW: beyond any charge point sold; more is a watts/kilowatts typo. */
const pilePowerW = z.number().int('must be whole watts').min(1, 'must be at least 1 W').max(1_000_000, 'must be at most 1 000 000 W');
/** A station's grid connection: up to 100 MW. */
const stationCapW = z.number().int('must be whole watts').min(1, 'must be at least 1 W').max(100_000_000, 'must be at most 100 000 000 W');
const ambientCelsius = z.number().min(-50, 'must be between -50 and 60 °C').max(60, 'must be between -50 and 60 °C');

export const pileRegistrationBody = z.object({ id: pileId, stationId: uuid, maxPowerW: pilePowerW.default(7000) }).strict();
export const pilePatch = z
  .object({ maxPowerW: pilePowerW.optional(), stationId: uuid.optional() })
  .strict()
  .refine((b) => b.maxPowerW !== undefined || b.stationId !== undefined, { message: 'change at least one field' });
export const pileOnboarded = z
  .object({ id: z.string(), stationId: uuid, maxPowerW: int, enabled: z.boolean(), state: z.string() })
  .meta({ id: 'OnboardedPile' });
export const pileRegistered = pileOnboarded.extend({
  password: z.string().describe("The pile's OCPP Basic-auth password: answered only here, only its hash is kept"),
});
export const pilePassword = z.object({ id: z.string(), password: z.string().describe('The new password: answered only here') });

/**
 * The ambient temperature as a fixed value or from a weather feed the charging service polls;
 * `default` clears it (the configured default applies). The service refuses plain-http feeds
 * unless AMBIENT_FEED_ALLOW_HTTP.
 */
export const ambientSource = z.discriminatedUnion(
  'source',
  [
    z.object({ source: z.literal('value'), celsius: ambientCelsius }).strict(),
    z
      .object({
        source: z.literal('feed'),
        url: z
          .string()
          .max(2000, 'must be at most 2000 characters')
          .url('must be a URL')
          .refine((u) => u.startsWith('https://') || u.startsWith('http://'), 'must be an http(s) URL'),
      })
      .strict(),
    z.object({ source: z.literal('default') }).strict(),
  ],
  { error: 'source must be value, feed or default' },
);
export type AmbientSource = z.infer<typeof ambientSource>;
export const stationChargingBody = z
  .object({ chargingCapW: stationCapW.nullable().optional(), ambient: ambientSource.optional() })
  .strict()
  .refine((b) => b.chargingCapW !== undefined || b.ambient !== undefined, { message: 'change at least one field' });
/** A station's charging limits (operators): the grid cap and its outside temperature. */
export const stationCharging = z
  .object({
    stationId: uuid,
    chargingCapW: int.nullable(),
    ambientC: z.number().nullable(),
    ambientFeedUrl: z.string().nullable(),
    ambientUpdatedAt: time.nullable(),
  })
  .meta({ id: 'StationCharging' });
export type StationCharging = z.infer<typeof stationCharging>;
