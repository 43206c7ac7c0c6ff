import { z } from 'zod';
import { phone, time } from './common';
import { PASSWORD_RULES, roles } from './members';

const password = z.string().min(1, 'is required').max(PASSWORD_RULES.maxLength, `must be at most ${PASSWORD_RULES.maxLength} characters`);
const newPassword = z
  .string()
  .min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`)
  .max(PASSWORD_RULES.maxLength, `must be at most ${PASSWORD_RULES.maxLength} characters`);
const locale = z.enum(['zh-CN', 'en']);

/** The auth service's request bodies. */
export const loginBody = z.object({ account: z.string().trim().min(1, 'is required').max(64, 'must be at most 64 characters'), password }).strict();
export const passwordBody = z
  .object({ currentPassword: password, newPassword })
  .strict()
  .refine((b) => b.currentPassword !== b.newPassword, { message: 'must differ from the current password', path: ['newPassword'] });
export const codeBody = z.object({ phone, locale: locale.default('zh-CN') }).strict();
export const registerBody = z
  .object({
    phone,
    code: z.string().regex(/^[0-9]{6}$/, 'must be the 6 digits sent by SMS'),
    password: newPassword,
    displayName: z.string().trim().min(1, 'is required').max(64, 'must be at most 64 characters'),
    locale: locale.default('zh-CN'),
  })
  .strict();
export const deregisterBody = z.object({ password: z.string().min(1, 'is required').max(PASSWORD_RULES.maxLength) }).strict();

export const session = z
  .object({
    sessionKey: z.string().optional().describe('Only when a session is created (login, registration, password change)'),
    memberId: z.uuid(),
    role: roles,
    address: z.string().describe('The client address as the balancer saw it'),
    createdAt: time,
    lastAccessAt: time,
    expiresAt: time,
    apps: z.array(z.string()).describe('APP instances that have served the session'),
  })
  .meta({ id: 'Session' });
export const codeSent = z.object({ expiresInSeconds: z.number().int() });

export type Session = z.output<typeof session>;
