import { z } from 'zod';
import { env } from '@evshare/kit';

/** The wallet's settings, part of the APP service's configuration. */
export const walletConfigSchema = z.object({
  /** Top-up providers members may choose: `dev` (confirms at once; development only) and `hosted`. */
  PAYMENT_PROVIDERS: z
    .string()
    .default('dev')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Where the hosted provider's payment page is (the member is sent there with the payment id). */
  PAYMENT_HOSTED_URL: env.optionalUrl(),
  /** Shared key the hosted provider signs its callbacks with (HMAC-SHA256). */
  PAYMENT_HOSTED_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Largest single top-up, in fen. */
  TOP_UP_MAX_FEN: env.positiveInt(1_000_000),
  /** Largest manual deduction or refund an operator may post, in fen. */
  ADMIN_DEDUCTION_MAX_FEN: env.positiveInt(10_000_000),
});
export type WalletConfig = z.infer<typeof walletConfigSchema>;

