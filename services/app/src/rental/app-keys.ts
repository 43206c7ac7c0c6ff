import { APP_KEY_MAX_VALIDITY_S, appKeyPrivateKey, Problem, problems, signAppKey, type Pool } from '@evshare/kit';
import type { RentalConfig } from './config';
import { chargeRefusal, eligibilityRefusal, lockEligibility } from './eligibility';
import { planInForce, rentalSettings } from './model';

/** What the member holds on the car when asking for its key, which sets how long the key opens it. */
export type KeyHold = { kind: 'rental' } | { kind: 'reservation'; expiresAt: Date } | { kind: 'walk-up' };

/**
 * Pure: the key's window. A rental's key lasts APP_KEY_RENTAL_SECONDS, a reservation's until the
 * hold runs out, a walk-up's APP_KEY_WALK_UP_SECONDS; each starts a minute back so a terminal's
 * clock running slow does not refuse a fresh key (the terminal adds its own skew allowance too);
 * never longer than a terminal accepts.
 */
export function keyWindow(
  hold: KeyHold,
  now: Date,
  settings: Pick<RentalConfig, 'APP_KEY_WALK_UP_SECONDS' | 'APP_KEY_RENTAL_SECONDS'>,
): { notBefore: Date; validitySeconds: number } {
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  const until =
    hold.kind === 'rental'
      ? now.getTime() + settings.APP_KEY_RENTAL_SECONDS * 1000
      : hold.kind === 'reservation'
        ? hold.expiresAt.getTime()
        : now.getTime() + settings.APP_KEY_WALK_UP_SECONDS * 1000;
  return { notBefore, validitySeconds: Math.min(APP_KEY_MAX_VALIDITY_S, Math.max(1, Math.ceil((until - notBefore.getTime()) / 1000))) };
}

export interface IssuedAppKey {
  key: string;
  vehicleId: string;
  vin: string;
  hold: KeyHold['kind'];
  validFrom: Date;
  validUntil: Date;
}

/**
 * Issues a member the signed key for one car: for the car they rent or reserve, or, as a walk-up,
 * for a free car when they are eligible and hold nothing else. The key only names the member:
 * the car still decides from its lists, so revocation is the whitelist (docs/vehicles.md).
 */
export function createAppKeyIssuer(db: Pool, config: RentalConfig) {
  const privateKey = config.APP_KEY_PRIVATE_KEY === undefined ? undefined : appKeyPrivateKey(config.APP_KEY_PRIVATE_KEY);

  return async function issueAppKey(memberId: string, vehicleId: string): Promise<IssuedAppKey> {
    if (!privateKey)
      throw new Problem(
        503,
        'app-keys-not-configured',
        'App keys are not issued here',
        'This platform issues no app keys (APP_KEY_PRIVATE_KEY is not set); rent through the app instead',
      );
    const { rows } = await db.query<{
      vin: string;
      plate: string;
      model: string;
      socPct: number;
      state: string;
      stationId: string | null;
      rents: boolean;
      reservedUntil: Date | null;
      holdsOther: boolean;
    }>(
      `SELECT v.vin, v.plate, v.model, v.soc_pct::float8 AS "socPct", v.state, v.station_id AS "stationId",
              EXISTS (SELECT 1 FROM rentals t WHERE t.vehicle_id = v.id AND t.member_id = $2 AND t.status = 'active') AS rents,
              (SELECT r.expires_at FROM reservations r WHERE r.vehicle_id = v.id AND r.member_id = $2 AND r.status = 'active' AND r.expires_at > now()) AS "reservedUntil",
              EXISTS (SELECT 1 FROM rentals t WHERE t.member_id = $2 AND t.vehicle_id <> v.id AND t.status IN ('unlocking', 'active'))
                OR EXISTS (SELECT 1 FROM reservations r WHERE r.member_id = $2 AND r.vehicle_id <> v.id AND r.status = 'active') AS "holdsOther"
         FROM vehicles v WHERE v.id = $1`,
      [vehicleId, memberId],
    );
    const car = rows[0];
    if (!car) throw problems.notFound('No such car');
    let hold: KeyHold;
    if (car.rents) hold = { kind: 'rental' };
    else if (car.reservedUntil) hold = { kind: 'reservation', expiresAt: car.reservedUntil };
    else {
      if (car.holdsOther) throw problems.conflict('member-busy', 'You hold another car; return it or cancel that reservation first');
      if (car.state !== 'available' || !car.stationId)
        throw new Problem(409, 'vehicle-unavailable', 'Conflict', `The car is ${car.state.replace('_', ' ')}; pick an available one`, { state: car.state });
      // The car would open only for a member on its fleet list: the same rule, asked now.
      const member = await lockEligibility(db, memberId);
      const plan = await planInForce(db, { vehicleModel: car.model, stationId: car.stationId });
      if (!member) throw problems.unauthenticated('The account no longer exists');
      if (!plan) throw problems.conflict('no-pricing-plan', 'No pricing plan is in force, so nothing can be rented now');
      const settings = await rentalSettings(db);
      const refusal = eligibilityRefusal(member, { depositFen: plan.depositFen, minBalanceFen: settings.minBalanceFen }, new Date().toISOString().slice(0, 10));
      if (refusal) throw new Problem(403, refusal.reason, 'Not allowed to rent', refusal.detail, { reason: refusal.reason });
      const lowCharge = chargeRefusal(car, settings.minSocPct);
      if (lowCharge) throw new Problem(409, lowCharge.reason, 'Conflict', lowCharge.detail, { socPct: car.socPct, minSocPct: settings.minSocPct });
      hold = { kind: 'walk-up' };
    }
    const window = keyWindow(hold, new Date(), config);
    const { key, claims } = signAppKey(privateKey, { vin: car.vin, memberId, ...window });
    return { key, vehicleId, vin: car.vin, hold: hold.kind, validFrom: new Date(claims.nbf * 1000), validUntil: new Date(claims.exp * 1000) };
  };
}
