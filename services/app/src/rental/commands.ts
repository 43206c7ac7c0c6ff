import { z } from 'zod';
import type { Bus, Logger } from '@evshare/kit';

/**
 * Commands to a car's terminal and its acknowledgements, on core NATS; the telematics service
 * carries them to the car over MQTT and answers `offline` for a car with no connection
 * (docs/rental.md, "The unlock contract"):
 *
 *   vehicle.<vin>.command  {commandId, vin, action, expiresAt}
 *   vehicle.<vin>.ack      {commandId, ok, reason?}
 *
 * The car executes a command id at most once and ignores a command after expiresAt, so the
 * server may repeat a command (core NATS can lose one) and a late copy cannot open a car whose
 * rental was already rolled back.
 */
export const vehicleCommandSubject = (vin: string) => `vehicle.${vin}.command`;
export const vehicleAckSubject = (vin: string) => `vehicle.${vin}.ack`;

export interface VehicleCommand {
  commandId: string;
  vin: string;
  /** locate: horn and lights; report: the car sends its telemetry now. */
  action: 'unlock' | 'lock' | 'immobilise' | 'locate' | 'report';
  expiresAt: string;
}

export const vehicleAckSchema = z.object({
  commandId: z.string().uuid(),
  ok: z.boolean(),
  reason: z.string().max(200).optional(),
});
export type VehicleAck = z.infer<typeof vehicleAckSchema>;

export interface VehicleCommander {
  /** Sends the command until it is acknowledged or `timeoutMs` passes (then resolves undefined). */
  send(command: Omit<VehicleCommand, 'expiresAt'>, timeoutMs: number): Promise<VehicleAck | undefined>;
  /** Sends once without waiting (a safety lock after a rollback). */
  fire(command: Omit<VehicleCommand, 'expiresAt'>, validMs: number): void;
}

export function createVehicleCommander(bus: Bus, log: Logger, resendMs: number): VehicleCommander {
  const pending = new Map<string, { vin: string; resolve: (ack: VehicleAck) => void }>();
  // One subscription per instance for every car; only the instance waiting for an id resolves it.
  // The subscription lives as long as the bus: the APP instance closes the bus when it stops.
  bus.subscribe('vehicle.*.ack', (data, subject) => {
    const parsed = vehicleAckSchema.safeParse(data);
    if (!parsed.success) {
      log.warn({ subject }, 'malformed vehicle ack ignored');
      return;
    }
    const waiter = pending.get(parsed.data.commandId);
    if (!waiter || subject !== vehicleAckSubject(waiter.vin)) return;
    pending.delete(parsed.data.commandId);
    waiter.resolve(parsed.data);
  });

  const publish = (command: Omit<VehicleCommand, 'expiresAt'>, expiresAt: Date) =>
    bus.publish(vehicleCommandSubject(command.vin), { ...command, expiresAt: expiresAt.toISOString() } satisfies VehicleCommand);

  return {
    send(command, timeoutMs) {
      const expiresAt = new Date(Date.now() + timeoutMs);
      return new Promise<VehicleAck | undefined>((resolve) => {
        const finish = (ack: VehicleAck | undefined) => {
          clearInterval(resend);
          clearTimeout(deadline);
          pending.delete(command.commandId);
          resolve(ack);
        };
        pending.set(command.commandId, { vin: command.vin, resolve: finish });
        const resend = setInterval(() => publish(command, expiresAt), resendMs);
        const deadline = setTimeout(() => finish(undefined), timeoutMs);
        publish(command, expiresAt);
      });
    },
    fire(command, validMs) {
      publish(command, new Date(Date.now() + validMs));
    },
  };
}
