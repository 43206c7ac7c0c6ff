import { alertNotification } from './vehicles';

describe('alertNotification', () => {
  const vin = 'LEVSHARE000000001';
  const at = '2026-01-01T00:00:00.000Z';
  it.each([
    [{ vin, kind: 'offline' as const, at }, 'vehicle.offline', `Car ${vin} went offline / 车辆离线`],
    [{ vin, kind: 'low-charge' as const, at, socPct: 14.6 }, 'vehicle.low-charge', `Car ${vin} is low on charge (15 %) / 电量低`],
    [{ vin, kind: 'door-open-after-return' as const, at }, 'vehicle.door-open-after-return', `Car ${vin} has a door open after return / 还车后车门未关`],
  ])('%o', (alert, kind, title) => {
    expect(alertNotification(alert, 'id-1')).toEqual({ id: 'id-1', kind, title, body: alert, at });
  });
});
