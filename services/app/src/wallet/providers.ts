import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@evshare/kit';
import { hostedCallbackBody } from '@evshare/api';
import type { WalletConfig } from './config';

/** A payment to start with a provider. */
export interface PaymentRequest {
  id: string;
  memberId: string;
  amountFen: number;
}

export type StartResult =
  /** Confirmed at once (the development provider). */
  | { status: 'succeeded'; providerRef: string }
  /** The member completes it at the provider; the outcome arrives by callback. */
  | { status: 'pending'; providerRef?: string; next?: { url: string } };

/** A provider's verified callback: which payment, how much, and how it ended. */
export interface CallbackResult {
  paymentId: string;
  providerRef: string;
  amountFen: number;
  status: 'succeeded' | 'failed';
}

/**
 * A top-up payment provider. `start` is called once per payment (the member's Idempotency-Key
 * makes a retried request find the same payment); `verifyCallback` checks a callback's signature
 * and returns its content, or undefined when the signature is wrong or stale.
 */
export interface TopUpProvider {
  readonly name: string;
  start(payment: PaymentRequest): Promise<StartResult>;
  verifyCallback?(body: Record<string, unknown>, now: Date): CallbackResult | undefined;
}

/** Development: confirms at once, no money moves. */
export function createDevTopUpProvider(): TopUpProvider {
  return {
    name: 'dev',
    async start(payment) {
      return { status: 'succeeded', providerRef: `dev:${payment.id}` };
    },
  };
}

/** A callback older or newer than this is refused (a captured callback cannot be replayed later). */
export const CALLBACK_TOLERANCE_SECONDS = 15 * 60;

/**
 * The hosted provider's signature, as the common Chinese gateways sign (Alipay, WeChat Pay v2):
 * HMAC-SHA256, hex, over the fields sorted by name as `name=value` joined with `&`, the
 * signature itself excluded.
 */
export function signCallback(key: string, fields: Record<string, string | number>): string {
  const canonical = Object.keys(fields)
    .filter((name) => name !== 'sign')
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('&');
  return createHmac('sha256', key).update(canonical).digest('hex');
}

/** A hosted payment page with a signed asynchronous callback: the shape of a real provider. */
export function createHostedTopUpProvider(options: { url: string; signingKey: string }): TopUpProvider {
  return {
    name: 'hosted',
    async start(payment) {
      const next = new URL(options.url);
      next.searchParams.set('payment', payment.id);
      next.searchParams.set('amountFen', String(payment.amountFen));
      return { status: 'pending', next: { url: next.toString() } };
    },
    verifyCallback(body, now) {
      const parsed = hostedCallbackBody.parse(body);
      const { sign, ...fields } = parsed;
      const expected = Buffer.from(signCallback(options.signingKey, fields), 'hex');
      if (!timingSafeEqual(expected, Buffer.from(sign, 'hex'))) return undefined;
      if (Math.abs(now.getTime() / 1000 - parsed.timestamp) > CALLBACK_TOLERANCE_SECONDS) return undefined;
      return { paymentId: parsed.paymentId, providerRef: parsed.providerRef, amountFen: parsed.amountFen, status: parsed.status };
    },
  };
}

/** The providers PAYMENT_PROVIDERS enables, by name. */
export function providersFromConfig(config: WalletConfig): Map<string, TopUpProvider> {
  const providers = new Map<string, TopUpProvider>();
  for (const name of config.PAYMENT_PROVIDERS) {
    if (name === 'dev') providers.set(name, createDevTopUpProvider());
    else if (name === 'hosted') {
      if (!config.PAYMENT_HOSTED_URL || !config.PAYMENT_HOSTED_SIGNING_KEY)
        throw new ConfigError('PAYMENT_HOSTED_URL and PAYMENT_HOSTED_SIGNING_KEY are required for the hosted provider');
      providers.set(name, createHostedTopUpProvider({ url: config.PAYMENT_HOSTED_URL, signingKey: config.PAYMENT_HOSTED_SIGNING_KEY }));
    } else throw new ConfigError(`PAYMENT_PROVIDERS: unknown provider ${JSON.stringify(name)} (known: dev, hosted)`);
  }
  return providers;
}
