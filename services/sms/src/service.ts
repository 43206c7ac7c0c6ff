import { z } from 'zod';
import client from 'prom-client';
import {
  ConfigError,
  createHealth,
  createMetrics,
  env,
  isDevelopment,
  smsMessageSchema,
  STREAMS,
  type Bus,
  type DurableMessage,
  type KeyValueStore,
  type Logger,
  type Pool,
  type RunningService,
  type SmsMessage,
  serviceEnv,
  serveWorker,
  DURABLES,
} from '@evshare/kit';
import { createDevProvider, createHttpProvider, SmsSendError, type SmsProvider } from './providers';
import { createSmsRateLimiter } from './rate-limit';
import { TemplateError, loggedBody, render } from './templates';

export const smsConfigSchema = z
  .object({
    ...serviceEnv('sms', 8085),
    NODE_ENV: env.nodeEnv(),
    /**
     * `dev` keeps messages in the SMS log (the outbox operators read); `http` sends them to a real
     * gateway. Unset: `dev` in development and tests, required otherwise; `dev` is refused in production.
     */
    SMS_PROVIDER: z.enum(['dev', 'http']).optional(),
    SMS_HTTP_URL: env.optionalUrl(),
    SMS_HTTP_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    SMS_HTTP_TIMEOUT_MS: env.positiveInt(5_000),
    /** Deliveries of one message before it is given up (status `dead`). */
    SMS_MAX_ATTEMPTS: env.positiveInt(5),
    SMS_ACK_WAIT_MS: env.positiveInt(30_000),
    /** Per phone; verification codes are limited per phone and address by the auth service, globally here. */
    SMS_LIMIT_PER_MINUTE: env.positiveInt(5),
    SMS_LIMIT_PER_DAY: env.positiveInt(20),
    /** Verification codes per minute for all phones (at least the auth service's REGISTRATION_CODES_GLOBAL_PER_MINUTE). */
    SMS_CODE_LIMIT_PER_MINUTE: env.positiveInt(150),
  })
  .superRefine((config, ctx) => {
    // The outbox shows verification codes to every operator: never where real members register.
    if (config.SMS_PROVIDER === 'dev' && config.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['SMS_PROVIDER'],
        message: 'the dev provider keeps codes in an outbox operators read and is refused with NODE_ENV=production',
      });
    }
    if (config.SMS_PROVIDER === undefined && !isDevelopment(config.NODE_ENV)) {
      ctx.addIssue({ code: 'custom', path: ['SMS_PROVIDER'], message: 'required outside development (http, with SMS_HTTP_URL and SMS_HTTP_SIGNING_KEY)' });
    }
  })
  .overwrite((config) => ({ ...config, SMS_PROVIDER: config.SMS_PROVIDER ?? 'dev' }));
export type SmsConfig = z.infer<typeof smsConfigSchema>;

export interface SmsDeps {
  config: SmsConfig;
  log: Logger;
  db: Pool;
  bus: Bus;
  /** Where the per-phone counters live (Redis, shared by every SMS instance). */
  store: KeyValueStore;
  /** Overrides the provider chosen by SMS_PROVIDER (tests). */
  provider?: SmsProvider;
}

export const SMS_DURABLE = DURABLES.sms;

export function providerFromConfig(config: SmsConfig): SmsProvider {
  if (config.SMS_PROVIDER === 'dev') return createDevProvider();
  if (!config.SMS_HTTP_URL || !config.SMS_HTTP_SIGNING_KEY) throw new ConfigError('SMS_HTTP_URL and SMS_HTTP_SIGNING_KEY are required with SMS_PROVIDER=http');
  return createHttpProvider({ url: config.SMS_HTTP_URL, signingKey: config.SMS_HTTP_SIGNING_KEY, timeoutMs: config.SMS_HTTP_TIMEOUT_MS });
}

interface LogRow {
  status: 'queued' | 'sent' | 'failed' | 'dead' | 'limited';
}

/** The SMS service: consumes the SMS stream and delivers through the configured provider (patent claim 1). */
export async function startSms(deps: SmsDeps): Promise<RunningService> {
  const { config, log, db, bus } = deps;
  const provider = deps.provider ?? providerFromConfig(config);
  const limiter = createSmsRateLimiter(deps.store, {
    perMinute: config.SMS_LIMIT_PER_MINUTE,
    perDay: config.SMS_LIMIT_PER_DAY,
    codesPerMinute: config.SMS_CODE_LIMIT_PER_MINUTE,
  });
  const health = createHealth();
  health.addCheck('database', async () => {
    await db.query('SELECT 1');
  });
  health.addCheck('store', () => deps.store.ping());
  health.addCheck('bus', () => bus.ping());
  const metrics = createMetrics('sms', config.INSTANCE_ID);
  const outcomes = new client.Counter({
    name: 'sms_messages_total',
    help: 'SMS by outcome: sent, retried, dead, limited, duplicate, invalid',
    labelNames: ['outcome', 'template'],
    registers: [metrics.registry],
  });

  const setStatus = (reference: string, status: LogRow['status'], fields: { providerId?: string; error?: string } = {}) =>
    db.query(
      `UPDATE sms_log SET status = $2, provider_id = coalesce($3, provider_id), last_error = coalesce($4, last_error), updated_at = now(),
              sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
        WHERE reference = $1`,
      [reference, status, fields.providerId ?? null, fields.error ?? null],
    );

  /** Records the message once; a redelivery finds the row and continues from its status. */
  const record = async (sms: SmsMessage, body: string, status: LogRow['status'], error?: string): Promise<{ created: boolean; row: LogRow }> => {
    const inserted = await db.query<LogRow>(
      `INSERT INTO sms_log (reference, member_id, phone, template, locale, body, status, provider, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (reference) DO NOTHING RETURNING status`,
      [sms.reference, sms.memberId ?? null, sms.phone, sms.template, sms.locale, body, status, provider.name, error ?? null],
    );
    if (inserted.rows[0]) return { created: true, row: inserted.rows[0] };
    const { rows } = await db.query<LogRow>('SELECT status FROM sms_log WHERE reference = $1', [sms.reference]);
    return { created: false, row: rows[0]! };
  };

  const handle = async (message: DurableMessage) => {
    const parsed = smsMessageSchema.safeParse(message.data);
    if (!parsed.success) {
      outcomes.inc({ outcome: 'invalid', template: 'unknown' });
      log.error({ seq: message.seq, issues: parsed.error.issues }, 'invalid SMS message dropped');
      return;
    }
    const sms = parsed.data;
    let text: string;
    let logged: string;
    try {
      text = render(sms.template, sms.locale, sms.params);
      logged = loggedBody(sms.template, sms.locale, sms.params, provider.keepsSecrets);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      await record(sms, '', 'dead', error.message);
      outcomes.inc({ outcome: 'invalid', template: sms.template });
      log.error({ reference: sms.reference, err: error }, 'SMS cannot be rendered; dead');
      return;
    }
    const { created, row } = await record(sms, logged, 'queued');
    if (!created && (row.status === 'sent' || row.status === 'dead' || row.status === 'limited')) {
      outcomes.inc({ outcome: 'duplicate', template: sms.template });
      return;
    }
    // Counted once per message, when it is first seen, so retries do not eat the member's quota.
    if (created) {
      // Codes are limited per phone and address by the auth service; here only their global
      // budget applies, the last bound on what SMS pumping can cost.
      const verdict = sms.template === 'verification-code' ? await limiter.takeCode() : await limiter.take(sms.phone);
      if (!verdict.allowed) {
        const limit =
          verdict.window === 'codes' ? 'global per-minute limit for verification codes reached' : `per-${verdict.window} limit for this phone reached`;
        await setStatus(sms.reference, 'limited', { error: limit });
        outcomes.inc({ outcome: 'limited', template: sms.template });
        log.warn({ reference: sms.reference, window: verdict.window }, 'SMS not sent: rate limit');
        return;
      }
    }
    await db.query('UPDATE sms_log SET attempts = attempts + 1, updated_at = now() WHERE reference = $1', [sms.reference]);
    try {
      const { providerId } = await provider.send({ reference: sms.reference, phone: sms.phone, body: text });
      await setStatus(sms.reference, 'sent', { providerId });
      outcomes.inc({ outcome: 'sent', template: sms.template });
    } catch (error) {
      const reason = (error as Error).message;
      const permanent = error instanceof SmsSendError && error.permanent;
      if (permanent || message.deliveryCount >= config.SMS_MAX_ATTEMPTS) {
        await setStatus(sms.reference, 'dead', { error: reason });
        outcomes.inc({ outcome: 'dead', template: sms.template });
        log.error({ reference: sms.reference, attempts: message.deliveryCount, reason }, 'SMS given up (dead letter)');
        return;
      }
      await setStatus(sms.reference, 'failed', { error: reason });
      outcomes.inc({ outcome: 'retried', template: sms.template });
      // Thrown: the bus redelivers with a growing delay.
      throw error;
    }
  };

  const consumer = await bus.consume(STREAMS.sms.name, SMS_DURABLE, handle, {
    ackWaitMs: config.SMS_ACK_WAIT_MS,
    maxDeliver: config.SMS_MAX_ATTEMPTS,
    // Only reached when deliveries ran out without an answer (an instance hung or died mid-send).
    onDeadLetter: (message, error) => {
      const parsed = smsMessageSchema.safeParse(message.data);
      if (!parsed.success) return;
      setStatus(parsed.data.reference, 'dead', { error: String(error) }).catch((dbError: unknown) => log.error({ err: dbError }, 'could not mark SMS dead'));
    },
  });
  return serveWorker('sms', { log, metrics, health, consumer, port: config.PORT, host: config.HOST });
}
