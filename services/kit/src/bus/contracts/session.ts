import { z } from 'zod';

/** A session was ended (logout, password change): every instance drops it from its caches. */
export const sessionSubjects = {
  revoked: 'session.revoked',
} as const;

export const sessionRevokedSchema = z.object({
  /** SHA-256 of the session key (never the key itself). */
  sessionHash: z.string(),
  memberId: z.string(),
  reason: z.enum(['logout', 'password-changed', 'expired', 'admin']),
});
export type SessionRevoked = z.infer<typeof sessionRevokedSchema>;
