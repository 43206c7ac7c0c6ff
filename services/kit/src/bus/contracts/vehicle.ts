import { z } from 'zod';

/**
 * The platform and the cars' terminals, through the telematics service (core NATS; the car side
 * is MQTT, services/telematics/src/protocol.ts). docs/rental.md, "The unlock contract":
 *
 *   vehicle.<vin>.command  VehicleCommand (APP -> telematics, one telematics instance per command)
 *   vehicle.<vin>.ack      VehicleAck (telematics -> APP; `offline` for a car with no connection)
 *   vehicle.<vin>.status   VehicleStatusEvent (telematics -> heartbeat)
 *   vehicle.<vin>.alert    VehicleAlert (telematics -> heartbeat, pushed to the operators)
 *   vehicle.<vin>.event    VehicleEventMessage (card swipes, local unlocks, doors)
 *
 * The car executes a command id at most once and ignores a command after expiresAt, so the
 * server may repeat a command (core NATS can lose one) and a late copy cannot open a car whose
 * rental was already rolled back.
 */
export const vehicleSubjects = {
  command: (vin: string) => `vehicle.${vin}.command`,
  ack: (vin: string) => `vehicle.${vin}.ack`,
  status: (vin: string) => `vehicle.${vin}.status`,
  alert: (vin: string) => `vehicle.${vin}.alert`,
  event: (vin: string) => `vehicle.${vin}.event`,
  commandAll: 'vehicle.*.command',
  ackAll: 'vehicle.*.ack',
  statusAll: 'vehicle.*.status',
  alertAll: 'vehicle.*.alert',
  eventAll: 'vehicle.*.event',
} as const;

/** The VIN of a vehicle.<vin>.<kind> subject (the subject, not the payload, is what the permissions vouch for). */
export function vinOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length >= 3 ? parts.at(-2) : undefined;
}

/** locate: horn and lights; report: the car sends its telemetry now. */
export const vehicleActions = ['unlock', 'lock', 'immobilise', 'locate', 'report'] as const;

export const vehicleCommandSchema = z.object({
  commandId: z.string().uuid(),
  vin: z.string(),
  action: z.enum(vehicleActions),
  expiresAt: z.string().datetime({ offset: true }),
});
export type VehicleCommand = z.infer<typeof vehicleCommandSchema>;

export const vehicleAckSchema = z.object({
  commandId: z.string().uuid(),
  ok: z.boolean(),
  reason: z.string().max(200).optional(),
});
export type VehicleAck = z.infer<typeof vehicleAckSchema>;

export const vehicleStatusEventSchema = z.object({ vin: z.string(), online: z.boolean(), at: z.string() });
export type VehicleStatusEvent = z.infer<typeof vehicleStatusEventSchema>;

export const vehicleAlertKinds = ['offline', 'low-charge', 'door-open-after-return'] as const;
export const vehicleAlertSchema = z.object({
  vin: z.string(),
  kind: z.enum(vehicleAlertKinds),
  at: z.string(),
  socPct: z.number().optional(),
});
export type VehicleAlert = z.infer<typeof vehicleAlertSchema>;

/** What a car reported, passed on with its VIN (a trip is billed by telematics, not passed on). */
export const vehicleEventMessageSchema = z.discriminatedUnion('type', [
  z.object({ vin: z.string(), type: z.literal('card-swipe'), at: z.string(), cardUid: z.string() }),
  z.object({
    vin: z.string(),
    type: z.literal('local-unlock'),
    at: z.string(),
    granted: z.boolean(),
    via: z.enum(['card', 'app']),
    memberId: z.string().uuid().optional(),
    cardUid: z.string().optional(),
    tripId: z.string().uuid().optional(),
  }),
  z.object({ vin: z.string(), type: z.literal('door-opened'), at: z.string() }),
]);
export type VehicleEventMessage = z.infer<typeof vehicleEventMessageSchema>;
