import { z } from 'zod';

/**
 * Text messages to members (stream SMS; the sms service sends each reference once):
 *
 *   sms.<template>   SmsMessage
 */
export const smsTemplates = [
  'verification-code',
  'reservation-expiring',
  'rental-started',
  'rental-ended',
  'low-balance',
  'low-battery',
  'debt',
  'operator-notice',
] as const;

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
