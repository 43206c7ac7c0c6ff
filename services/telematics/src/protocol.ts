import { z } from 'zod';

/**
 * The MQTT protocol between the cars' terminals and the platform (docs/vehicles.md). Topics are
 * `<root>/vehicles/<VIN>/<channel>`; payloads are JSON, validated here on both sides.
 */
export const DEFAULT_TOPIC_ROOT = 'evshare/v1';
export const CHANNELS = ['telemetry', 'events', 'commands', 'acks', 'status'] as const;
export type Channel = (typeof CHANNELS)[number];

export const VIN_PATTERN = /^[A-HJ-NPR-Z0-9]{17}$/;

export function vehicleTopic(root: string, vin: string, channel: Channel): string {
  return `${root}/vehicles/${vin}/${channel}`;
}

/** The filter for one channel of every car. */
export function channelFilter(root: string, channel: Channel): string {
  return `${root}/vehicles/+/${channel}`;
}

/** The VIN and channel of a topic under `root`, or undefined for anything else. */
export function parseTopic(root: string, topic: string): { vin: string; channel: Channel } | undefined {
  const prefix = `${root}/vehicles/`;
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length !== 2) return undefined;
  const [vin, channel] = parts as [string, string];
  if (!VIN_PATTERN.test(vin) || !(CHANNELS as readonly string[]).includes(channel)) return undefined;
  return { vin, channel: channel as Channel };
}

const isoTime = z.string().datetime({ offset: true });
const uuid = z.string().uuid();
export const cardUidSchema = z.string().regex(/^[0-9A-F]{8,20}$/);
const lat = z.number().min(-90).max(90);
const lng = z.number().min(-180).max(180);
const socPct = z.number().min(0).max(100);
const odometerM = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Every 10 s parked, every 2 s driving (the car's own setting). */
export const telemetrySchema = z.object({
  at: isoTime,
  lat,
  lng,
  speedKmh: z.number().min(0).max(400),
  socPct,
  odometerM,
  doorsOpen: z.boolean(),
  locked: z.boolean(),
  ignition: z.boolean(),
  cableConnected: z.boolean(),
  /** The version of the whitelist the car holds; a stale one gets a full sync. */
  whitelistVersion: z.number().int().min(0).optional(),
  /** The version of the fleet list (every eligible member) the car holds. */
  fleetVersion: z.number().int().min(0).optional(),
});
export type Telemetry = z.infer<typeof telemetrySchema>;

/** An operator's entry is on one car for a limited time: the car itself refuses it after `validUntil`. */
export const whitelistEntrySchema = z
  .object({
    memberId: uuid,
    cardUids: z.array(cardUidSchema).max(50),
    role: z.enum(['renter', 'operator']),
    validUntil: isoTime.optional(),
  })
  .refine((e) => e.role !== 'operator' || e.validUntil !== undefined, { message: "an operator's entry needs validUntil", path: ['validUntil'] });

export const whitelistDeltaSchema = z.object({
  baseVersion: z.number().int().min(0),
  version: z.number().int().min(1),
  add: z.array(whitelistEntrySchema),
  remove: z.array(uuid),
});

/** `<member id, base64url of its 16 bytes>[:<card>,<card>…]`, at most 50 cards (fleet-list.ts). */
export const fleetEntrySchema = z.string().regex(/^[A-Za-z0-9_-]{21}[AQgw](:[0-9A-F]{8,20}(,[0-9A-F]{8,20}){0,49})?$/);

export const fleetDeltaSchema = z.object({
  baseVersion: z.number().int().min(0),
  version: z.number().int().min(1),
  add: z.array(fleetEntrySchema),
  remove: z.array(uuid),
});

/** A trip the car recorded after unlocking for a card or app token on its own. */
export const tripRecordSchema = z
  .object({
    tripId: uuid,
    memberId: uuid,
    cardUid: cardUidSchema.optional(),
    startedAt: isoTime,
    endedAt: isoTime,
    startOdometerM: odometerM,
    endOdometerM: odometerM,
    startSocPct: socPct,
    endSocPct: socPct,
    startLat: lat,
    startLng: lng,
    endLat: lat,
    endLng: lng,
    /** True when the car was offline at some point of the trip. */
    offline: z.boolean(),
  })
  .refine((t) => Date.parse(t.endedAt) >= Date.parse(t.startedAt), { message: 'a trip cannot end before it starts', path: ['endedAt'] });
export type TripRecord = z.infer<typeof tripRecordSchema>;

export const vehicleEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('card-swipe'), at: isoTime, cardUid: cardUidSchema }),
  z.object({
    type: z.literal('local-unlock'),
    at: isoTime,
    granted: z.boolean(),
    via: z.enum(['card', 'app']),
    memberId: uuid.optional(),
    cardUid: cardUidSchema.optional(),
    /** The trip a granted unlock is part of (its record carries the same id when it ends). */
    tripId: uuid.optional(),
  }),
  z.object({ type: z.literal('door-opened'), at: isoTime }),
  z.object({ type: z.literal('trip'), at: isoTime, trip: tripRecordSchema }),
]);
export type VehicleEvent = z.infer<typeof vehicleEventSchema>;

const commandBase = { commandId: uuid, expiresAt: isoTime };
export const vehicleCommandSchema = z.discriminatedUnion('action', [
  // locate: horn and lights (a member looking for the car); report: telemetry now (a fresh report before a return).
  z.object({ ...commandBase, action: z.enum(['unlock', 'lock', 'immobilise', 'locate', 'report']) }),
  z.object({ ...commandBase, action: z.literal('whitelist-delta'), delta: whitelistDeltaSchema }),
  z.object({ ...commandBase, action: z.literal('whitelist-full'), version: z.number().int().min(0), entries: z.array(whitelistEntrySchema) }),
  // The fleet list: the same delta goes to every car; the full list comes in pages.
  z.object({ ...commandBase, action: z.literal('fleet-delta'), delta: fleetDeltaSchema }),
  // A page whose part is not below parts is refused by the car (collectPage).
  z.object({
    ...commandBase,
    action: z.literal('fleet-full'),
    version: z.number().int().min(0),
    part: z.number().int().min(0),
    parts: z.number().int().min(1).max(10_000),
    entries: z.array(fleetEntrySchema),
  }),
]);
export type VehicleCommandMessage = z.infer<typeof vehicleCommandSchema>;

export const vehicleAckMessageSchema = z.object({
  commandId: uuid,
  ok: z.boolean(),
  reason: z.string().max(200).optional(),
  whitelistVersion: z.number().int().min(0).optional(),
  fleetVersion: z.number().int().min(0).optional(),
});
export type VehicleAckMessage = z.infer<typeof vehicleAckMessageSchema>;

/** Retained; the last will publishes `{online: false}`. */
export const vehicleStatusSchema = z.object({ online: z.boolean(), at: isoTime.optional() });
export type VehicleStatus = z.infer<typeof vehicleStatusSchema>;

/** Why a message on a car's topic was dropped (the label of telematics_messages_rejected_total). */
export type RejectReason = 'topic' | 'json' | 'schema';

/** Parses a message's payload for its channel; never throws. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: Buffer): { ok: true; value: T } | { ok: false; reason: RejectReason } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'json' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: 'schema' };
}
