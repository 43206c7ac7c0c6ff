import { createHash } from 'node:crypto';
import { SUBJECTS, type Bus, type PushNotification } from '@evshare/kit';

export function pushToMember(bus: Bus, memberId: string, notification: PushNotification): void {
  bus.publish(SUBJECTS.pushMember(memberId), notification);
}

/**
 * A notification id derived from what it is about, so storing the receipt notice again for a
 * redelivered deduction hits the primary key instead of notifying twice.
 */
export function deterministicUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  // Version 8 (custom) and the RFC 9562 variant bits: a valid UUID for PostgreSQL and for zod.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
