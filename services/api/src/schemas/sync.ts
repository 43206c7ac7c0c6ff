import { z } from 'zod';
import { int } from './common';
import { member, notification } from './members';
import { rental, reservation } from './rental';

export const syncState = z
  .object({
    version: z.string().describe('Also in the ETag `"<memberId>.<version>"`'),
    member,
    notifications: z.array(notification),
    reservation: reservation.nullable(),
    rental: rental.nullable(),
    pollAfterMs: int.describe('Poll again after this long'),
  })
  .meta({ id: 'Sync' });

export type SyncState = z.output<typeof syncState>;
