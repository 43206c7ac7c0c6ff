import { z } from 'zod';
import { env } from '@evshare/kit';

/** The rental domain's settings, part of the APP service's configuration (defaults suit production). */
export const rentalConfigSchema = z.object({
  /** How long a rental waits for the car to acknowledge the unlock command before rolling back. */
  UNLOCK_ACK_TIMEOUT_MS: env.positiveInt(10_000),
  /** The unlock command is re-sent (same command id) this often until acknowledged. */
  UNLOCK_RESEND_MS: env.positiveInt(2_000),
  /** A return trusts the car's last report only this long; an older one is refreshed by asking the car. */
  RETURN_REPORT_MAX_AGE_MS: env.positiveInt(30_000),
  /** How often each APP instance looks for expired reservations, stuck unlocks and unpublished fees. */
  RENTAL_SWEEP_INTERVAL_MS: env.positiveInt(1_000),
});
export type RentalConfig = z.infer<typeof rentalConfigSchema>;
