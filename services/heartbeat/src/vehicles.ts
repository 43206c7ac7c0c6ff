import { randomUUID } from 'node:crypto';
import client from 'prom-client';
import {
  SUBJECTS,
  vehicleAlertSchema,
  vehicleStatusEventSchema,
  type Bus,
  type Logger,
  type Metrics,
  type PushNotification,
  type VehicleAlert,
} from '@evshare/kit';
import type { PushServer } from './push-server';

const TITLES: Record<VehicleAlert['kind'], (a: VehicleAlert) => string> = {
  offline: (a) => `Car ${a.vin} went offline / 车辆离线`,
  'low-charge': (a) => `Car ${a.vin} is low on charge${a.socPct === undefined ? '' : ` (${Math.round(a.socPct)} %)`} / 电量低`,
  'door-open-after-return': (a) => `Car ${a.vin} has a door open after return / 还车后车门未关`,
};

/** The push notification an operator gets for a car's alert. */
export function alertNotification(alert: VehicleAlert, id: string): PushNotification {
  return { id, kind: `vehicle.${alert.kind}`, title: TITLES[alert.kind](alert), body: alert, at: alert.at };
}

/**
 * Tracks which cars are online (from the telematics service's status events) and pushes the cars'
 * alerts to the operators (members with role admin) connected to this instance.
 */
export function watchVehicles(deps: { bus: Bus; log: Logger; metrics: Metrics; push: Pick<PushServer, 'deliverToRole'> }): () => void {
  const { bus, log, metrics, push } = deps;
  const online = new Map<string, boolean>();
  new client.Gauge({
    name: 'heartbeat_vehicles_online',
    help: 'Cars whose last status event said online',
    registers: [metrics.registry],
    collect() {
      let n = 0;
      for (const up of online.values()) if (up) n++;
      this.set(n);
    },
  });
  const alerts = new client.Counter({
    name: 'heartbeat_vehicle_alerts_total',
    help: 'Car alerts pushed to operators, by kind',
    labelNames: ['kind'],
    registers: [metrics.registry],
  });
  const stopStatus = bus.subscribe(SUBJECTS.vehicleStatusAll, (data) => {
    const parsed = vehicleStatusEventSchema.safeParse(data);
    if (parsed.success) online.set(parsed.data.vin, parsed.data.online);
  });
  const stopAlerts = bus.subscribe(SUBJECTS.vehicleAlertAll, (data, subject) => {
    const parsed = vehicleAlertSchema.safeParse(data);
    if (!parsed.success) {
      log.warn({ subject }, 'invalid vehicle alert dropped');
      return;
    }
    alerts.inc({ kind: parsed.data.kind });
    push.deliverToRole('admin', alertNotification(parsed.data, randomUUID()));
  });
  return () => {
    stopStatus();
    stopAlerts();
  };
}
