import { z } from 'zod';

/**
 * Messages on the JetStream streams (the patent's message queue between the APP services and the
 * deduction and SMS services). Money is integer fen; times are ISO-8601 UTC.
 */
export const deductionKinds = ['rental', 'reservation-fee', 'one-way-fee', 'damage', 'manual', 'refund', 'charging'] as const;

export const deductionMessageSchema = z.object({
  /** Unique per fee (e.g. `rental:<rentalId>:rental`); applying the same reference twice has no effect. */
  reference: z.string().min(1).max(200),
  memberId: z.string().uuid(),
  kind: z.enum(deductionKinds),
  /** Positive charges the member; a refund is positive too and credits the member. */
  amountFen: z.number().int().nonnegative(),
  description: z.string().max(500),
  rentalId: z.string().uuid().optional(),
  reservationId: z.string().uuid().optional(),
  /** Who asked for it: an APP instance or an operator (manual deductions and refunds). */
  requestedBy: z.string().min(1),
  at: z.string().datetime(),
});
export type DeductionMessage = z.infer<typeof deductionMessageSchema>;

/** Subject of a deduction on the DEDUCTIONS stream. */
export const deductionSubject = (kind: DeductionMessage['kind']) => `deduction.${kind}`;

export const smsTemplates = ['verification-code', 'reservation-expiring', 'rental-started', 'rental-ended', 'low-balance', 'debt', 'operator-notice'] as const;

export const smsMessageSchema = z.object({
  /** Unique per message; a redelivered message is sent once. */
  reference: z.string().min(1).max(200),
  phone: z.string().regex(/^\+?[0-9]{6,15}$/),
  template: z.enum(smsTemplates),
  locale: z.enum(['zh-CN', 'en']).default('zh-CN'),
  params: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  memberId: z.string().uuid().optional(),
  at: z.string().datetime(),
});
export type SmsMessage = z.infer<typeof smsMessageSchema>;

export const smsSubject = (template: SmsMessage['template']) => `sms.${template}`;

/** Published on EVENTS after a deduction is applied; the push channel tells the member. */
export const receiptEventSchema = z.object({
  reference: z.string(),
  memberId: z.string().uuid(),
  kind: z.enum(deductionKinds),
  amountFen: z.number().int(),
  balanceFen: z.number().int(),
  debtFen: z.number().int().nonnegative(),
  at: z.string().datetime(),
});
export type ReceiptEvent = z.infer<typeof receiptEventSchema>;
export const receiptSubject = 'events.receipt';
