import { z } from 'zod';

/** What every area's schemas share: ids, money in integer fen, times as ISO 8601 UTC strings. */
export const uuid = z.uuid('must be a UUID');
/** 100 million yuan: far above any real fee, far below where integer fen lose precision. */
const MAX_FEN = 10_000_000_000;
/** A price or fee in a request: a whole, non-negative number of fen. */
export const fen = z.number().int('must be a whole number of fen').nonnegative('must not be negative').max(MAX_FEN, `must be at most ${MAX_FEN} fen`);
/** An amount a request moves: a whole number of fen, at least 1 and at most `max`. */
export const amountFen = (max: number) =>
  z.number({ error: 'must be a number of fen' }).int('must be a whole number of fen').min(1, 'must be at least 1 fen').max(max, `must be at most ${max} fen`);
export const phone = z.string().regex(/^\+?[0-9]{6,15}$/, 'must be 6 to 15 digits, optionally starting with +');
/** Client-chosen key that makes a retried request find the first one's result. */
export const idempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{8,100}$/, 'must be 8 to 100 letters, digits or _.:-');
/** A time in a request: any offset. */
export const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2024-05-01T08:00:00Z' });
export const nonEmpty = <T extends Record<string, unknown>>(body: T) => Object.values(body).some((value) => value !== undefined);
/** The ledgers' page: `before` is an entry id. */
export const page = z
  .object({
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
    before: z.coerce.number().int('must be an integer').positive('must be positive').optional(),
  })
  .strict();
export const idParams = (what: string) => z.object({ id: uuid.describe(`The ${what}'s id`) });

// ---- answers: the wire form

/** A time in an answer: UTC, as JSON.stringify writes a Date. */
export const time = z.iso.datetime();
export const date = z.iso.date();
/** Money in an answer: integer fen (negative where the field says so). */
export const money = (description: string) => z.number().int().describe(`${description}, in fen`);
export const int = z.number().int();
/** `{items: [...]}`, the shape of every list. */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
/** The answer of a list of `T`s, for clients. */
export type Page<T> = { items: T[] };
/** `{items, next?}`: pass `next` as `before` for the next page. */
export const timePageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: time.optional().describe('Cursor for `before`; absent on the last page') });
export const queued = z
  .object({ reference: z.string().describe('The message reference (idempotency key of its effect)'), duplicate: z.boolean().optional() })
  .meta({ id: 'Queued' });
