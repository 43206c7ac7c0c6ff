import { createHmac } from 'node:crypto';

/** What a provider is asked to deliver. */
export interface OutgoingSms {
  reference: string;
  phone: string;
  body: string;
}

/** A failed delivery; `permanent` ones (a refused number, a refused text) are not retried. */
export class SmsSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * An SMS gateway. `send` resolves with the gateway's message id once the gateway accepted the
 * message, or throws (SmsSendError.permanent says whether a retry could help).
 */
export interface SmsProvider {
  readonly name: string;
  /** The development outbox keeps verification codes readable; real gateways get them masked in the log. */
  readonly keepsSecrets: boolean;
  send(message: OutgoingSms): Promise<{ providerId: string }>;
}

/** Development: nothing leaves the machine; the SMS log is the outbox the admin API lists. */
export function createDevProvider(): SmsProvider {
  return {
    name: 'dev',
    keepsSecrets: true,
    async send(message) {
      return { providerId: `dev:${message.reference}` };
    },
  };
}

export const SIGNATURE_HEADER = 'x-evshare-signature';
export const TIMESTAMP_HEADER = 'x-evshare-timestamp';

/** HMAC-SHA256 over `<timestamp>.<body>`, hex: what the gateway checks (and a test gateway can recompute). */
export function signRequest(key: string, timestamp: string, body: string): string {
  return createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * A real gateway over HTTP: POST {reference, phone, text} as JSON, signed with a shared key;
 * 2xx with `{ id }` is accepted, 429 and 5xx are retried, other 4xx are permanent. The reference
 * doubles as the gateway's idempotency key (`Idempotency-Key`), so a retry after a lost answer is
 * not sent twice by a gateway that honours it.
 */
export function createHttpProvider(options: { url: string; signingKey: string; timeoutMs: number }): SmsProvider {
  return {
    name: 'http',
    keepsSecrets: false,
    async send(message) {
      const body = JSON.stringify({ reference: message.reference, phone: message.phone, text: message.body });
      const timestamp = String(Math.floor(Date.now() / 1000));
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': message.reference,
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signRequest(options.signingKey, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        throw new SmsSendError(`gateway unreachable: ${(error as Error).message}`, false);
      }
      const text = await response.text().catch(() => '');
      if (!response.ok) {
        const permanent = response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408;
        throw new SmsSendError(`gateway answered ${response.status}: ${text.slice(0, 200)}`, permanent);
      }
      let id: unknown;
      try {
        id = (JSON.parse(text) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
      return { providerId: typeof id === 'string' || typeof id === 'number' ? String(id) : message.reference };
    },
  };
}
