import { z } from 'zod';

/**
 * Money on the JetStream streams (the patent's message queue between the APP services and the
 * deduction service). Money is integer fen; times are ISO-8601 UTC.
 *
 *   deduction.<kind>   DeductionMessage (stream DEDUCTIONS; billing applies it once per reference)
 *   events.receipt     ReceiptEvent (stream EVENTS, after a deduction is applied)
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
