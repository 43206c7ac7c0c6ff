import { z } from 'zod';
import { env, isDevelopment } from '@evshare/kit';

/** The wallet's settings, part of the APP service's configuration. */
export const walletConfigSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  /**
   * Top-up providers members may choose: `dev` (confirms at once, without payment) and `hosted`.
   * Unset: `dev` in development and tests, none otherwise; `dev` is refused in production.
   */
  PAYMENT_PROVIDERS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Where the hosted provider's payment page is (the member is sent there with the payment id). */
  PAYMENT_HOSTED_URL: env.optionalUrl(),
  /** The hosted provider's refund API (deposits are paid back there); unset: no refunds through it. */
  PAYMENT_HOSTED_REFUND_URL: env.optionalUrl(),
  /** Shared key the hosted provider signs its callbacks with (HMAC-SHA256). */
  PAYMENT_HOSTED_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How often each APP instance asks the providers again for deposit refunds left pending (and how old they must be). */
  REFUND_RETRY_INTERVAL_MS: env.positiveInt(60_000),
  /** Largest single top-up, in fen. */
  TOP_UP_MAX_FEN: env.positiveInt(1_000_000),
  /** Largest manual deduction or refund an operator may post, in fen. */
  ADMIN_DEDUCTION_MAX_FEN: env.positiveInt(10_000_000),
});
export type WalletConfig = z.infer<typeof walletConfigSchema>;

/** `dev` credits money nobody paid: a configuration error, not a warning, in production. */
export function refuseDevTopUpsInProduction(config: WalletConfig, ctx: z.RefinementCtx): void {
  if (config.NODE_ENV === 'production' && config.PAYMENT_PROVIDERS.includes('dev')) {
    ctx.addIssue({
      code: 'custom',
      path: ['PAYMENT_PROVIDERS'],
      message: 'the dev provider confirms top-ups without payment and is refused with NODE_ENV=production',
    });
  }
}

/** No provider named: `dev` where development was chosen, none otherwise (top-ups are then refused). */
export function walletDefaults<C extends WalletConfig>(config: C): C {
  if (config.PAYMENT_PROVIDERS.length > 0 || !isDevelopment(config.NODE_ENV)) return config;
  return { ...config, PAYMENT_PROVIDERS: ['dev'] };
}
