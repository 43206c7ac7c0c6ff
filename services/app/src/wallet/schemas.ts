import { z } from 'zod';

export const uuid = z.string().uuid('must be a UUID');
export const phone = z.string().regex(/^\+?[0-9]{6,15}$/, 'must be 6 to 15 digits, optionally starting with +');
/** Money: a whole number of fen, at least 1 and at most `max`. */
export const fen = (max: number) =>
  z
    .number({ error: 'must be a number of fen' })
    .int('must be a whole number of fen')
    .min(1, 'must be at least 1 fen')
    .max(max, `must be at most ${max} fen`);
/** Client-chosen key that makes a retried request find the first one's result. */
export const idempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{8,100}$/, 'must be 8 to 100 letters, digits or _.:-');
export const page = z
  .object({
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
    before: z.coerce.number().int('must be an integer').positive('must be positive').optional(),
  })
  .strict();
