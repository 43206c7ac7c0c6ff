import type { StreamDefinition } from './types';

/** The platform's JetStream streams, declared in code (the patent's message queue). */
export const STREAMS = {
  deductions: { name: 'DEDUCTIONS', subjects: ['deduction.>'], duplicateWindowMs: 24 * 3600_000 },
  sms: { name: 'SMS', subjects: ['sms.>'], duplicateWindowMs: 24 * 3600_000 },
  events: { name: 'EVENTS', subjects: ['events.>'], duplicateWindowMs: 10 * 60_000, maxAgeMs: 7 * 24 * 3600_000 },
} satisfies Record<string, StreamDefinition>;

export const ALL_STREAMS: StreamDefinition[] = Object.values(STREAMS);

/** The durable consumers' names (the bus permissions grant each its own consumer only). */
export const DURABLES = { billing: 'billing', sms: 'sms' } as const;
