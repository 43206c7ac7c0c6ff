import { SUBJECTS, vehicleAckSchema, type Bus, type Logger, type VehicleAck, type VehicleCommand } from '@evshare/kit';

/**
 * Sends commands to a car's terminal and waits for their acknowledgements (the contract:
 * kit/bus/contracts/vehicle.ts; the telematics service carries them to the car over MQTT).
 */
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
  bus.subscribe(SUBJECTS.vehicleAckAll, (data, subject) => {
    const parsed = vehicleAckSchema.safeParse(data);
    if (!parsed.success) {
      log.warn({ subject }, 'malformed vehicle ack ignored');
      return;
    }
    const waiter = pending.get(parsed.data.commandId);
    if (!waiter || subject !== SUBJECTS.vehicleAck(waiter.vin)) return;
    pending.delete(parsed.data.commandId);
    waiter.resolve(parsed.data);
  });

  const publish = (command: Omit<VehicleCommand, 'expiresAt'>, expiresAt: Date) =>
    bus.publish(SUBJECTS.vehicleCommand(command.vin), { ...command, expiresAt: expiresAt.toISOString() } satisfies VehicleCommand);

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
