import { createHash } from 'node:crypto';
import type { Bus } from '../bus/types';
import { smsSubject, type SmsMessage } from '../bus/contracts/sms';
import type { PushNotification } from '../bus/contracts/push';
import { SUBJECTS } from '../bus/subjects';
import type { Pool } from '../db/postgres';
import { bumpSyncVersion } from '../member-sync';
import type { KeyValueStore } from '../store/types';
import { NOTICE_PUSH_KIND, NOTICE_TEMPLATE, noticeTitle, sendsSms, smsDecision, smsPreferences, type NoticeKind, type SmsDecision } from './policy';

/**
 * An id derived from what it is about, so storing a notice again (a redelivery, a retry) hits the
 * primary key instead of notifying twice.
 */
export function deterministicUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  // Version 8 (custom) and the RFC 9562 variant bits: a valid UUID for PostgreSQL and for zod.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface MemberNotice {
  memberId: string;
  kind: Exclude<NoticeKind, 'debt'>;
  /** What the notice is about, unique per notice (`rental-ended:<rentalId>`): the SMS reference and the source of the notification id. */
  reference: string;
  /** The SMS template's parameters, also kept in the notification's body. */
  params: Record<string, string | number>;
  /** More for the app (ids, the bill, stations), kept in the body. */
  body?: Record<string, unknown>;
}

export interface NoticeOutcome {
  /** False when the notice was already stored (a repeat): nothing was pushed again. */
  stored: boolean;
  sms: SmsDecision | 'unknown-member';
}

interface Recipient {
  phone: string | null;
  locale: SmsMessage['locale'];
  choices: unknown;
}

/**
 * Tells a member of a business event: the notification stored once under an id derived from the
 * reference (the poll and history read it), the member's sync version advanced, the notification
 * pushed live, and the SMS published on the SMS stream when the policy says so, with the reference
 * as message id and SMS reference, so a repeat is dropped by the stream and by the sms service.
 */
export async function deliverNotice(deps: { db: Pool; cache?: KeyValueStore | undefined; bus: Bus }, notice: MemberNotice): Promise<NoticeOutcome> {
  const { rows } = await deps.db.query<Recipient>(
    `SELECT m.phone, m.locale, p.choices FROM members m LEFT JOIN member_sms_preferences p ON p.member_id = m.id WHERE m.id = $1`,
    [notice.memberId],
  );
  const member = rows[0];
  if (!member) return { stored: false, sms: 'unknown-member' };
  const id = deterministicUuid(`notice:${notice.reference}`);
  const kind = NOTICE_PUSH_KIND[notice.kind];
  const title = noticeTitle(notice.kind, member.locale, notice.params);
  const body = { ...notice.params, ...notice.body };
  const inserted = await deps.db.query<{ at: Date }>(
    `INSERT INTO notifications (id, member_id, kind, title, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING created_at AS at`,
    [id, notice.memberId, kind, title, JSON.stringify(body)],
  );
  // The push first: it is the live one, and a text message takes seconds anyway.
  const at = inserted.rows[0]?.at;
  if (at) {
    if (deps.cache) await bumpSyncVersion(deps.cache, notice.memberId);
    deps.bus.publish(SUBJECTS.pushMember(notice.memberId), { id, kind, title, body, at: at.toISOString() } satisfies PushNotification);
  }
  const decision = smsDecision(notice.kind, smsPreferences(member.choices), member.phone);
  if (sendsSms(decision)) {
    const template = NOTICE_TEMPLATE[notice.kind];
    const sms: SmsMessage = {
      reference: notice.reference,
      phone: member.phone!,
      template,
      locale: member.locale,
      params: notice.params,
      memberId: notice.memberId,
      at: new Date().toISOString(),
    };
    await deps.bus.publishDurable(smsSubject(template), sms, sms.reference);
  }
  return { stored: at !== undefined, sms: decision };
}
