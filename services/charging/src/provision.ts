import type { Pool } from '@evshare/kit';
import { hashPilePassword, newPilePassword } from './credentials';

export interface PileCredentials {
  id: string;
  password: string;
  stationId: string;
  /** A car at the station the simulated pile reports as parked (DataTransfer ParkedVehicle). */
  vin?: string;
}

/**
 * Registers `count` piles at a station (ids `<prefix>01`, `<prefix>02`, ...) and returns their
 * credentials; an existing id gets a new password. Each pile is paired with one of the cars
 * parked at the station, in VIN order, for the simulator to report. For development and the demo;
 * real piles are registered by operators with their own secrets.
 */
export async function provisionPiles(
  db: Pool,
  stationId: string,
  count: number,
  options: { prefix?: string; maxPowerW?: number; password?: string } = {},
): Promise<PileCredentials[]> {
  const prefix = options.prefix ?? `SIM-${stationId.slice(0, 8)}-`;
  const { rows: cars } = await db.query<{ vin: string }>('SELECT vin FROM vehicles WHERE station_id = $1 ORDER BY vin', [stationId]);
  const piles: PileCredentials[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `${prefix}${String(i).padStart(2, '0')}`;
    const password = options.password ?? newPilePassword();
    await db.query(
      `INSERT INTO piles (id, station_id, password_hash, max_power_w) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET station_id = EXCLUDED.station_id, password_hash = EXCLUDED.password_hash, max_power_w = EXCLUDED.max_power_w, updated_at = now()`,
      [id, stationId, await hashPilePassword(password), options.maxPowerW ?? 7000],
    );
    piles.push({ id, password, stationId, ...(cars[i - 1] ? { vin: cars[i - 1]!.vin } : {}) });
  }
  return piles;
}
