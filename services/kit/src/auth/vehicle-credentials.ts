import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from '../db/postgres';

export interface VehicleCredential {
  /** The MQTT username. */
  vin: string;
  /** The MQTT password: shown once, only its SHA-256 is stored. */
  secret: string;
}

const sha256 = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Issues (or replaces) the terminal credential of each car: a 256-bit random secret, of which only
 * the SHA-256 is stored. A VIN with no car is skipped. Returns the secrets, to be put into the
 * terminals (or the simulator).
 */
export async function provisionVehicleCredentials(db: Pool, vins: readonly string[]): Promise<VehicleCredential[]> {
  const issued = vins.map((vin) => ({ vin, secret: randomBytes(32).toString('base64url') }));
  const { rows } = await db.query<{ vin: string }>(
    `INSERT INTO vehicle_credentials (vin, secret_sha256)
     SELECT c.vin, c.hash FROM unnest($1::text[], $2::bytea[]) AS c(vin, hash) JOIN vehicles v ON v.vin = c.vin
     ON CONFLICT (vin) DO UPDATE SET secret_sha256 = excluded.secret_sha256, created_at = now()
     RETURNING vin`,
    [issued.map((c) => c.vin), issued.map((c) => sha256(c.secret))],
  );
  const stored = new Set(rows.map((r) => r.vin));
  return issued.filter((c) => stored.has(c.vin));
}

/** Whether `secret` is the car's current secret (constant-time comparison of the hashes). */
export async function verifyVehicleSecret(db: Pool, vin: string, secret: string): Promise<boolean> {
  const { rows } = await db.query<{ hash: Buffer }>('SELECT secret_sha256 AS hash FROM vehicle_credentials WHERE vin = $1', [vin]);
  const stored = rows[0]?.hash;
  return stored !== undefined && timingSafeEqual(stored, sha256(secret));
}
