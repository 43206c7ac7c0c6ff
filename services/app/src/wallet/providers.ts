import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
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

/** A deposit paid back to the member through the provider; `id` is the provider's idempotency key. */
export interface RefundRequest {
  id: string;
  memberId: string;
  amountFen: number;
}

/** The provider's word on a refund; a provider it could not reach throws instead (the refund stays pending). */
export type RefundResult = { status: 'succeeded'; providerRef: string } | { status: 'failed'; reason: string };

/**
 * A top-up payment provider. `start` is called once per payment (the member's Idempotency-Key
 * makes a retried request find the same payment); `verifyCallback` checks a callback's signature
 * and returns its content, or undefined when the signature is wrong or stale.
 */
export interface TopUpProvider {
  readonly name: string;
  start(payment: PaymentRequest): Promise<StartResult>;
  verifyCallback?(body: Record<string, unknown>, now: Date): CallbackResult | undefined;
  /** Pays a deposit back; asked again with the same id, the provider answers the same refund. */
  refund?(refund: RefundRequest): Promise<RefundResult>;
}

/** Development: confirms at once, no money moves. */
export function createDevTopUpProvider(): TopUpProvider {
  return {
    name: 'dev',
    async start(payment) {
      return { status: 'succeeded', providerRef: `dev:${payment.id}` };
    },
    async refund(refund) {
      return { status: 'succeeded', providerRef: `dev:${refund.id}` };
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

/** How long a refund request to the provider may take before the refund is left pending. */
const REFUND_TIMEOUT_MS = 10_000;

/**
 * A hosted payment page with a signed asynchronous callback, and (with `refundUrl`) a signed
 * refund API: the shape of a real provider. A refund is a POST of `{refundId, amountFen,
 * timestamp, sign}`; the provider answers `{refundId, status, providerRef | reason, timestamp,
 * sign}`, signed the same way, and answers a refund id it has seen with the same refund.
 */
export function createHostedTopUpProvider(options: { url: string; signingKey: string; refundUrl?: string | undefined }): TopUpProvider {
  const refundUrl = options.refundUrl;
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
    ...(refundUrl
      ? {
          async refund(refund: RefundRequest): Promise<RefundResult> {
            const fields = { refundId: refund.id, amountFen: refund.amountFen, timestamp: Math.floor(Date.now() / 1000) };
            const response = await fetch(refundUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ ...fields, sign: signCallback(options.signingKey, fields) }),
              signal: AbortSignal.timeout(REFUND_TIMEOUT_MS),
            });
            if (!response.ok) throw new Error(`refund ${refund.id}: the provider answered ${response.status}`);
            const answer = hostedRefundAnswer.parse(await response.json());
            const { sign, ...rest } = answer;
            const signed = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Record<string, string | number>;
            const expected = Buffer.from(signCallback(options.signingKey, signed), 'hex');
            if (answer.refundId !== refund.id || !timingSafeEqual(expected, Buffer.from(sign, 'hex')))
              throw new Error(`refund ${refund.id}: the provider's answer is not signed for this refund`);
            return answer.status === 'succeeded'
              ? { status: 'succeeded', providerRef: answer.providerRef ?? refund.id }
              : { status: 'failed', reason: answer.reason ?? 'refused by the provider' };
          },
        }
      : {}),
  };
}

/** The hosted provider's answer to a refund request. */
const hostedRefundAnswer = z
  .object({
    refundId: z.string(),
    status: z.enum(['succeeded', 'failed']),
    providerRef: z.string().max(100).optional(),
    reason: z.string().max(500).optional(),
    timestamp: z.number().int(),
    sign: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/** The providers PAYMENT_PROVIDERS enables, by name. */
export function providersFromConfig(config: WalletConfig): Map<string, TopUpProvider> {
  const providers = new Map<string, TopUpProvider>();
  for (const name of config.PAYMENT_PROVIDERS) {
    if (name === 'dev') providers.set(name, createDevTopUpProvider());
    else if (name === 'hosted') {
      if (!config.PAYMENT_HOSTED_URL || !config.PAYMENT_HOSTED_SIGNING_KEY)
        throw new ConfigError('PAYMENT_HOSTED_URL and PAYMENT_HOSTED_SIGNING_KEY are required for the hosted provider');
      providers.set(
        name,
        createHostedTopUpProvider({
          url: config.PAYMENT_HOSTED_URL,
          signingKey: config.PAYMENT_HOSTED_SIGNING_KEY,
          refundUrl: config.PAYMENT_HOSTED_REFUND_URL,
        }),
      );
    } else throw new ConfigError(`PAYMENT_PROVIDERS: unknown provider ${JSON.stringify(name)} (known: dev, hosted)`);
  }
  return providers;
}
