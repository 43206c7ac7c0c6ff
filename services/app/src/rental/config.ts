import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { APP_KEY_MAX_VALIDITY_S, env } from '@evshare/kit';
import { isTimeZone } from '@evshare/pricing';

/** An Ed25519 private key in PEM, checked at start (a wrong key fails the start, not a member's request). */
const ed25519Pem = z.string().refine(
  (pem) => {
    try {
      return createPrivateKey(pem).asymmetricKeyType === 'ed25519';
    } catch {
      return false;
    }
  },
  { message: 'must be an Ed25519 private key in PEM' },
);
const keySeconds = (fallback: number) => z.coerce.number().int().min(60).max(APP_KEY_MAX_VALIDITY_S).default(fallback);

/** The rental domain's settings, part of the APP service's configuration (defaults suit production). */
export const rentalConfigSchema = z.object({
  /** How long a rental waits for the car to acknowledge the unlock command before rolling back. */
  UNLOCK_ACK_TIMEOUT_MS: env.positiveInt(10_000),
  /** The unlock command is re-sent (same command id) this often until acknowledged. */
  UNLOCK_RESEND_MS: env.positiveInt(2_000),
  /** A return trusts the car's last report only this long; an older one is refreshed by asking the car. */
  RETURN_REPORT_MAX_AGE_MS: env.positiveInt(30_000),
  /** The operator's time zone: the local hours of a plan's time bands when the plan names none (IANA, e.g. Asia/Shanghai). */
  PRICING_TIME_ZONE: z
    .string()
    .default('Asia/Shanghai')
    .refine((zone) => isTimeZone(zone), { message: 'must be an IANA time zone, e.g. Asia/Shanghai' }),
  /** How often each APP instance looks for expired reservations, stuck unlocks and unpublished fees. */
  RENTAL_SWEEP_INTERVAL_MS: env.positiveInt(1_000),
  /** A reservation's holder is told this many minutes before it expires (docs/push.md). */
  RESERVATION_EXPIRING_NOTICE_MINUTES: env.positiveInt(5),
  /**
   * The platform's Ed25519 key that signs members' offline app keys (docs/vehicles.md, "App keys");
   * its public half is provisioned into the cars' terminals. Unset: no app keys are issued.
   */
  APP_KEY_PRIVATE_KEY: ed25519Pem.optional(),
  /** How long a key for a walk-up (no hold on the car yet) opens it: the walk to the car. */
  APP_KEY_WALK_UP_SECONDS: keySeconds(600),
  /** How long a key for the member's active rental opens the car (the app asks again for more). */
  APP_KEY_RENTAL_SECONDS: keySeconds(4 * 3600),
});
export type RentalConfig = z.infer<typeof rentalConfigSchema>;
