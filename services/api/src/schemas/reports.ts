import { z } from 'zod';
import { amountFen, money, time, uuid } from './common';

export const REPORT_KINDS = ['damage', 'dirt'] as const;
export const REPORT_PHASES = ['start', 'return'] as const;
/** Where on the car, as a member picks it from a short list. */
export const REPORT_LOCATIONS = ['front', 'rear', 'left', 'right', 'roof', 'interior', 'wheels', 'other'] as const;
export const TASK_KINDS = ['repair', 'cleaning'] as const;
export const TASK_STATES = ['open', 'done'] as const;
export const REPORT_PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export const REPORT_NOTE_MAX = 1000;

/** What the APP's configuration changes in the report operations. */
export interface ReportLimits {
  /** REPORT_PHOTO_MAX_BYTES: the largest photo accepted. */
  photoMaxBytes: number;
}

const note = z.string({ error: 'must be a text' }).trim().min(1, 'must not be empty').max(REPORT_NOTE_MAX, `must be at most ${REPORT_NOTE_MAX} characters`);

export const reportBody = z
  .object({
    rentalId: uuid,
    kind: z.enum(REPORT_KINDS, 'must be damage or dirt'),
    note,
    location: z.enum(REPORT_LOCATIONS, `must be one of ${REPORT_LOCATIONS.join(', ')}`).optional(),
  })
  .strict();

export const reportListQuery = z.object({ rentalId: uuid.optional() }).strict();
export const photoParams = z.object({ id: uuid.describe("The report's id"), photoId: uuid.describe("The photo's id") });

export const adminReportListQuery = z
  .object({
    task: z.enum(['open', 'done', 'none'], 'must be open, done or none').optional(),
    kind: z.enum(REPORT_KINDS, 'must be damage or dirt').optional(),
    vehicleId: uuid.optional(),
    memberId: uuid.optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

export const taskBody = z.discriminatedUnion(
  'action',
  [
    z
      .object({
        action: z.literal('open'),
        kind: z.enum(TASK_KINDS, 'must be repair or cleaning'),
        note: z.string().trim().max(500, 'must be at most 500 characters').optional(),
      })
      .strict(),
    z.object({ action: z.literal('close'), note: z.string().trim().max(500, 'must be at most 500 characters').optional() }).strict(),
  ],
  { error: 'must be open or close' },
);

export const chargeBody = (maxFen: number) =>
  z
    .object({
      amountFen: amountFen(maxFen),
      note: z.string({ error: 'must be a text' }).trim().min(1, 'must not be empty').max(300, 'must be at most 300 characters'),
      memberId: uuid.optional().describe('Who to charge; by default the member the report holds answerable'),
    })
    .strict();
export const reportPhoto = z
  .object({
    id: z.uuid(),
    contentType: z.enum(REPORT_PHOTO_TYPES),
    sizeBytes: z.number().int(),
    url: z.string().describe("Where to download it (the report's member and operators only)"),
    createdAt: time,
  })
  .meta({ id: 'ReportPhoto' });

export const damageReport = z
  .object({
    id: z.uuid(),
    rentalId: z.uuid(),
    memberId: z.uuid(),
    vehicleId: z.uuid(),
    phase: z.enum(REPORT_PHASES).describe('start: found before driving off; return: at the end of the trip'),
    kind: z.enum(REPORT_KINDS),
    note: z.string(),
    location: z.enum(REPORT_LOCATIONS).nullable(),
    photos: z.array(reportPhoto),
    createdAt: time,
  })
  .meta({ id: 'DamageReport' });

export const adminDamageReport = damageReport
  .extend({
    plate: z.string(),
    vehicleState: z.string().describe("The car's state now (maintenance: out of service)"),
    responsibleMemberId: z.uuid().nullable().describe('Who answers for it: the previous renter for a start report, the reporter at the return'),
    task: z
      .object({ kind: z.enum(TASK_KINDS), state: z.enum(TASK_STATES), note: z.string().nullable(), updatedBy: z.uuid().nullable(), updatedAt: time })
      .nullable(),
    charge: z
      .object({
        reference: z.string().describe('The ledger reference (`damage-report:<id>`)'),
        memberId: z.uuid(),
        amountFen: money('The amount charged'),
        note: z.string(),
        chargedBy: z.uuid(),
        chargedAt: time,
      })
      .nullable(),
  })
  .meta({ id: 'AdminDamageReport' });

export const reportCharge = z
  .object({ reportId: z.uuid(), reference: z.string(), memberId: z.uuid(), amountFen: z.number().int(), repeat: z.boolean() })
  .meta({ id: 'ReportCharge' });

export type DamageReport = z.output<typeof damageReport>;
export type AdminDamageReport = z.output<typeof adminDamageReport>;
export type ReportPhoto = z.output<typeof reportPhoto>;
export type ReportCharge = z.output<typeof reportCharge>;
