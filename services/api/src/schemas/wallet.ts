import { z } from 'zod';
import { amountFen, int, money, phone, time, uuid } from './common';

/** What the APP's configuration changes in the wallet's request schemas. */
export interface WalletLimits {
  /** The enabled top-up providers (PAYMENT_PROVIDERS). */
  paymentProviders: readonly string[];
  topUpMaxFen: number;
  adminDeductionMaxFen: number;
}

export const topUpBody = (providers: readonly string[], maxFen: number) =>
  z
    .object({
      amountFen: amountFen(maxFen),
      provider: z.enum(providers as [string, ...string[]], {
        error: providers.length ? `must be one of: ${providers.join(', ')}` : 'no top-up provider is enabled (PAYMENT_PROVIDERS)',
      }),
    })
    .strict();
/** The whole deposit is paid back, through the provider named. */
export const depositRefundBody = (providers: readonly string[]) =>
  z
    .object({
      provider: z.enum(providers as [string, ...string[]], {
        error: providers.length ? `must be one of: ${providers.join(', ')}` : 'no payment provider is enabled (PAYMENT_PROVIDERS)',
      }),
    })
    .strict();
export const DEPOSIT_REFUND_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export const depositRefundQuery = z
  .object({
    status: z.enum(DEPOSIT_REFUND_STATUSES, 'must be pending, succeeded or failed').optional(),
    memberId: uuid.optional(),
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
  })
  .strict();
export const depositBody = (maxFen: number) => z.object({ amountFen: amountFen(maxFen) }).strict();
export const deductionBody = (maxFen: number) =>
  z
    .object({
      kind: z.enum(['manual', 'refund', 'damage']),
      amountFen: amountFen(maxFen),
      description: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters'),
      rentalId: uuid.optional(),
    })
    .strict();
export const hostedCallbackBody = z
  .object({
    paymentId: z.string().uuid('must be a UUID'),
    providerRef: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1 to 100 letters, digits or _.:-'),
    amountFen: z.number().int('must be an integer (fen)').positive('must be positive'),
    status: z.enum(['succeeded', 'failed']),
    /** Unix seconds when the provider signed it. */
    timestamp: z.number().int().positive(),
    sign: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  })
  .strict();

export const statusBody = z.object({ reason: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters') }).strict();
export const smsBody = z.object({ text: z.string().trim().min(1, 'is required').max(300, 'must be at most 300 characters') }).strict();
export const smsQuery = z
  .object({
    phone: phone.optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();
export const LICENCE_STATUSES = ['unverified', 'pending', 'approved', 'rejected'] as const;
/** The operators' member list: pending licences first to review, or a search by phone, username or name. */
export const memberListQuery = z
  .object({
    licence: z.enum(LICENCE_STATUSES, 'must be unverified, pending, approved or rejected').optional(),
    status: z.enum(['active', 'suspended', 'deregistered'], 'must be active, suspended or deregistered').optional(),
    q: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

const today = () => new Date().toISOString().slice(0, 10);
const isCalendarDate = (value: string) => {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
};
export const licenceBody = z
  .object({
    // Chinese licences carry the 18-character identity number; foreign ones differ, hence the range.
    number: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z0-9]{6,20}$/, 'must be 6 to 20 letters or digits'),
    expiresOn: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2030-12-31')
      .refine(isCalendarDate, 'is not a calendar date')
      .refine((d) => d > today(), 'must be in the future'),
  })
  .strict();
export const decisionBody = z
  .object({
    decision: z.enum(['approve', 'reject']),
    reason: z.string().trim().min(1, 'is required').max(500, 'must be at most 500 characters').optional(),
  })
  .strict()
  .refine((b) => b.decision === 'approve' || b.reason !== undefined, { message: 'is required when rejecting', path: ['reason'] });

// ---- answers

export const wallet = z
  .object({ balanceFen: money('Balance (negative while in debt)'), depositFen: money('Deposit'), debtFen: money('Debt') })
  .meta({ id: 'Wallet' });
export const ledgerEntry = z
  .object({
    id: int,
    reference: z
      .string()
      .describe('Unique: names what the entry is for')
      .meta({ examples: ['rental:<rentalId>:rental'] }),
    kind: z.string(),
    amountFen: money('Signed change (negative charges, positive credits)'),
    balanceAfterFen: money('Balance after the entry'),
    debtAfterFen: money('Debt after the entry'),
    description: z.string(),
    rentalId: z.uuid().nullable(),
    createdAt: time,
  })
  .meta({ id: 'LedgerEntry' });
export const ledgerPage = z.object({
  items: z.array(ledgerEntry),
  nextBefore: int.nullable().describe('Pass as `before` for the next page; null on the last'),
});
export const payment = z
  .object({
    id: z.uuid(),
    provider: z.string(),
    amountFen: money('Amount'),
    status: z.enum(['pending', 'succeeded', 'failed']),
    createdAt: time,
    completedAt: time.nullable(),
    next: z.object({ url: z.url() }).optional().describe('Where the member pays, for a pending payment at a hosted provider'),
  })
  .meta({ id: 'Payment' });
export const depositRefund = z
  .object({
    id: z.uuid(),
    memberId: z.uuid(),
    provider: z.string(),
    amountFen: money('Deposit paid back'),
    status: z.enum(DEPOSIT_REFUND_STATUSES).describe('pending: the provider has not answered yet (repeat the request to ask again)'),
    failure: z.string().nullable().describe("The provider's reason, when it refused (the deposit is back in the account)"),
    createdAt: time,
    completedAt: time.nullable(),
  })
  .meta({ id: 'DepositRefund' });
export const callbackReceived = z.object({ received: z.literal(true), paymentId: z.uuid(), status: z.enum(['pending', 'succeeded', 'failed']) });
export const licence = z
  .object({
    status: z.enum(LICENCE_STATUSES),
    number: z.string().nullable(),
    expiresOn: z.iso.date().nullable(),
    submittedAt: time.nullable(),
    reviewedAt: time.nullable(),
    rejectReason: z.string().nullable(),
  })
  .meta({ id: 'Licence' });
export const memberSummary = z
  .object({
    id: z.uuid(),
    phone: z.string().nullable(),
    username: z.string().nullable(),
    displayName: z.string(),
    role: z.enum(['member', 'admin']),
    status: z.string().meta({ examples: ['active', 'suspended', 'deregistered'] }),
    createdAt: time,
    licenceStatus: z.enum(LICENCE_STATUSES),
    licenceNumber: z.string().nullable(),
    licenceExpiresOn: z.iso.date().nullable(),
    licenceSubmittedAt: time.nullable(),
    balanceFen: money('Balance'),
    depositFen: money('Deposit'),
    debtFen: money('Debt'),
  })
  .meta({ id: 'MemberSummary' });
export const smsLogEntry = z
  .object({
    reference: z.string(),
    memberId: z.uuid().nullable(),
    phone: z.string().nullable(),
    template: z.string(),
    locale: z.string(),
    body: z.string().nullable(),
    status: z.string().meta({ examples: ['pending', 'sent', 'dead', 'limited'] }),
    attempts: int,
    provider: z.string().nullable(),
    providerId: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: time,
    sentAt: time.nullable(),
  })
  .meta({ id: 'SmsLogEntry' });

export type Wallet = z.output<typeof wallet>;
export type LedgerEntry = z.output<typeof ledgerEntry>;
export type Payment = z.output<typeof payment>;
export type DepositRefund = z.output<typeof depositRefund>;
export type Licence = z.output<typeof licence>;
export type MemberSummary = z.output<typeof memberSummary>;
export type LicenceStatus = (typeof LICENCE_STATUSES)[number];
export type SmsLogEntry = z.output<typeof smsLogEntry>;
