import { billingConfigSchema, startBilling } from '@evshare/billing';
import { connectBackends, createLogger, parseConfig, type Backends, type RunningService, type SmsMessage } from '@evshare/kit';
import { smsConfigSchema, startSms, type SmsProvider } from '@evshare/sms';
import { request, type Reply } from '../support/http';

/** The billing and SMS services in this process, on the platform's backends (as the stack will start them). */
export async function startQueueServices(
  env: Record<string, string>,
  options: { billing?: boolean; sms?: boolean; smsProvider?: SmsProvider; overrides?: Record<string, string> } = {},
): Promise<{ backends: Backends; stop(): Promise<void> }> {
  const source = { ...process.env, ...env, ...options.overrides, PORT: '0', HOST: '127.0.0.1' };
  const log = createLogger('test-queues', env.LOG_LEVEL ?? 'warn');
  const backends = await connectBackends({ service: 'test-queues', log, env: source });
  const services: RunningService[] = [];
  if (options.billing !== false) {
    services.push(await startBilling({ config: parseConfig(billingConfigSchema, source), log, db: backends.db!, bus: backends.bus, cache: backends.cache }));
  }
  if (options.sms !== false) {
    services.push(
      await startSms({
        config: parseConfig(smsConfigSchema, source),
        log,
        db: backends.db!,
        bus: backends.bus,
        store: backends.sessions,
        ...(options.smsProvider ? { provider: options.smsProvider } : {}),
      }),
    );
  }
  return {
    backends,
    async stop() {
      for (const service of services) await service.stop();
      await backends.close();
    },
  };
}

export function expectProblem(reply: Reply, status: number, field?: string): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status });
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
  if (field) expect(reply.json<{ 'invalid-params'?: Array<{ name: string }> }>()['invalid-params']?.map((p) => p.name)).toContain(field);
}

/** The SMS log as the admin API lists it. */
export interface OutboxEntry {
  reference: string;
  template: SmsMessage['template'];
  body: string;
  status: string;
  attempts: number;
}

export async function smsOutbox(gateway: string, adminKey: string, phone: string): Promise<OutboxEntry[]> {
  const reply = await request(`${gateway}/api/v1/admin/sms?phone=${encodeURIComponent(phone)}`, { headers: { authorization: `Bearer ${adminKey}` } });
  if (reply.status !== 200) throw new Error(`sms outbox: ${reply.status} ${reply.body}`);
  return reply.json<{ items: OutboxEntry[] }>().items;
}

let phoneCounter = 0;
/** A phone number no other test file uses (random prefix, counter). */
export function uniquePhone(): string {
  phoneCounter += 1;
  return `139${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}${String(phoneCounter).padStart(4, '0')}`;
}
