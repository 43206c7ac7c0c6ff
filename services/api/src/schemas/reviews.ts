import { z } from 'zod';
import { amountFen, money, time, uuid } from './common';

export const REVIEW_KINDS = ['charging', 'trip'] as const;
export const REVIEW_STATUSES = ['pending', 'approved', 'adjusted', 'waived'] as const;

export const reviewListQuery = z
  .object({
    status: z.enum(REVIEW_STATUSES, 'must be pending, approved, adjusted or waived').optional(),
    kind: z.enum(REVIEW_KINDS, 'must be charging or trip').optional(),
    memberId: uuid.optional(),
    device: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();
const note = z.string().trim().max(500, 'must be at most 500 characters').optional();
export const reviewDecisionBody = (maxFen: number) =>
  z.discriminatedUnion(
    'decision',
    [
      z.object({ decision: z.literal('approve'), note }).strict(),
      z.object({ decision: z.literal('adjust'), amountFen: amountFen(maxFen), note }).strict(),
      z.object({ decision: z.literal('waive'), note }).strict(),
    ],
    { error: 'must be approve, adjust or waive' },
  );

export const deviceChargeReview = z
  .object({
    id: z.uuid(),
    kind: z.enum(REVIEW_KINDS),
    reference: z.string().describe("The charge's deduction reference, billed at most once"),
    device: z.string().describe("The pile id or the car's VIN"),
    memberId: z.uuid().nullable(),
    reported: z.record(z.string(), z.unknown()).describe('What the device reported (meter, energy, times; or the trip record)'),
    bound: z.record(z.string(), z.unknown()).describe('The bound it broke (rated power, elapsed time, margin; top speed, plan)'),
    reasons: z.array(z.string()).meta({ examples: [['energy-above-rating'], ['member-not-allowed', 'too-fast']] }),
    reportedFen: money('The price of the reported values'),
    boundedFen: money('The price of the values cut to the bound'),
    status: z.enum(REVIEW_STATUSES),
    decidedFen: money('The amount billed by the decision').nullable(),
    decidedBy: z.uuid().nullable(),
    decidedAt: time.nullable(),
    note: z.string().nullable(),
    createdAt: time,
  })
  .meta({ id: 'DeviceChargeReview' });

export type DeviceChargeReview = z.output<typeof deviceChargeReview>;
