import { z } from 'zod';
import { phone, time } from './common';

/** The password rules of the kit's hashing (kit/auth/password.ts; a test pins them equal). */
export const PASSWORD_RULES = { minLength: 8, maxLength: 128 } as const;

const username = z.string().regex(/^[a-z][a-z0-9_.-]{2,31}$/i, 'must be 3 to 32 letters, digits, or _.- starting with a letter');
const displayName = z.string().trim().min(1, 'is required').max(64, 'must be at most 64 characters');
export const roles = z.enum(['member', 'admin']);

export const newMemberBody = z
  .object({
    phone: phone.optional(),
    username: username.optional(),
    displayName,
    password: z.string().min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`).max(PASSWORD_RULES.maxLength),
    role: roles.default('member'),
  })
  .strict()
  .refine((b) => b.phone !== undefined || b.username !== undefined, { message: 'phone or username is required', path: ['phone'] });
export const profilePatch = z.object({ displayName }).strict();
export const notificationBody = z
  .object({
    kind: z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/, 'must be a lower-case word like "notice"'),
    title: z.string().trim().min(1, 'is required').max(200),
    body: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * The SMS a member may turn off (the kit's notice policy, kit/src/notices/policy.ts, holds the
 * same kinds; a type check in the APP's routes keeps them equal). Each a yes or no.
 */
const smsChoice = z.boolean({ error: 'must be true or false' });
export const smsPreferences = z
  .object({
    'rental-started': smsChoice.meta({ description: 'A text when a rental starts (default off)' }),
    'reservation-expiring': smsChoice.meta({ description: 'A text minutes before a reservation expires (default on)' }),
    'low-balance': smsChoice.meta({ description: 'A text when a charge takes the balance below the threshold (default on)' }),
    'low-battery': smsChoice.meta({ description: 'A text when the car in use runs low, with stations to charge at (default on)' }),
  })
  .strict()
  .meta({ id: 'SmsPreferences' });
export const smsSettings = z
  .object({
    choices: smsPreferences,
    alwaysSent: z.array(z.enum(['rental-ended', 'debt'])).meta({ description: 'The SMS sent whatever the choices: the bill of each rental and a debt' }),
  })
  .meta({ id: 'SmsSettings' });

export const member = z
  .object({
    id: z.uuid(),
    phone: z.string().nullable(),
    username: z.string().nullable(),
    displayName: z.string(),
    role: roles,
    status: z.string().meta({ examples: ['active', 'suspended', 'deregistered'] }),
    createdAt: time,
  })
  .meta({ id: 'Member' });
export const memberStatus = z.object({ id: z.uuid(), status: z.enum(['active', 'suspended']) }).meta({ id: 'MemberStatus' });
export const notification = z
  .object({ id: z.uuid(), kind: z.string(), title: z.string(), body: z.record(z.string(), z.unknown()), at: time })
  .meta({ id: 'Notification' });
/** A live session as operators see it (its key never leaves the store). */
export const sessionRecord = z
  .object({
    memberId: z.uuid(),
    role: roles,
    address: z.string(),
    createdAt: z.number().int().describe('Unix milliseconds'),
    lastAccessAt: z.number().int().describe('Unix milliseconds'),
    apps: z.array(z.string()),
  })
  .meta({ id: 'SessionRecord' });

export type SmsPreferences = z.output<typeof smsPreferences>;
export type SmsSettings = z.output<typeof smsSettings>;
export type Member = z.output<typeof member>;
export type MemberStatus = z.output<typeof memberStatus>;
export type Notification = z.output<typeof notification>;
export type SessionRecordView = z.output<typeof sessionRecord>;
