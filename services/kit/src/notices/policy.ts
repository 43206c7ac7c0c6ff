import type { SmsMessage } from '../bus/contracts/sms';

/**
 * Which of a member's business notices go out, and how (docs/push.md, "Member notices"). Every
 * notice is stored and pushed to the app; a text message goes too when the law asks for it or the
 * member keeps that SMS on. Pure.
 */
export const NOTICE_KINDS = ['rental-started', 'rental-ended', 'reservation-expiring', 'low-balance', 'low-battery', 'debt'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * Sent by SMS whatever the member chose: the bill at the end of a rental and a debt are what a
 * consumer must be told of money taken from them (a record outside the app), so no setting hides them.
 */
export const REQUIRED_SMS = ['rental-ended', 'debt'] as const satisfies readonly NoticeKind[];

/** The SMS a member may turn off, with the default of a member who never chose. */
export const OPTIONAL_SMS = ['rental-started', 'reservation-expiring', 'low-balance', 'low-battery'] as const;
export type OptionalSms = (typeof OPTIONAL_SMS)[number];
export type SmsPreferences = Record<OptionalSms, boolean>;

/**
 * A member started the rental themself, in the app or at the car: a text for it is noise, so it
 * is off until asked for. The others warn of a cost or a risk the member may not see in time.
 */
export const DEFAULT_SMS_PREFERENCES: SmsPreferences = {
  'rental-started': false,
  'reservation-expiring': true,
  'low-balance': true,
  'low-battery': true,
};

/** The member's effective choices: what they stored (read defensively), the defaults for the rest. */
export function smsPreferences(stored: unknown): SmsPreferences {
  const choices = stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  const effective = { ...DEFAULT_SMS_PREFERENCES };
  for (const kind of OPTIONAL_SMS) {
    const choice = choices[kind];
    if (typeof choice === 'boolean') effective[kind] = choice;
  }
  return effective;
}

export type SmsDecision = 'required' | 'opted-in' | 'opted-out' | 'no-phone';

/** Whether a notice goes by SMS too, and why. */
export function smsDecision(kind: NoticeKind, preferences: SmsPreferences, phone: string | null): SmsDecision {
  if (!phone) return 'no-phone';
  if ((REQUIRED_SMS as readonly NoticeKind[]).includes(kind)) return 'required';
  return preferences[kind as OptionalSms] ? 'opted-in' : 'opted-out';
}

export const sendsSms = (decision: SmsDecision): boolean => decision === 'required' || decision === 'opted-in';

/** The SMS template of each notice kind (the sms service renders it). */
export const NOTICE_TEMPLATE: Record<NoticeKind, SmsMessage['template']> = {
  'rental-started': 'rental-started',
  'rental-ended': 'rental-ended',
  'reservation-expiring': 'reservation-expiring',
  'low-balance': 'low-balance',
  'low-battery': 'low-battery',
  debt: 'debt',
};

/**
 * A deduction took the balance below the threshold: once per crossing (the balance was at or
 * above it before), not at every deduction below it. A deduction that ran into debt is told by
 * the debt SMS instead, so the member gets one message, not two.
 */
export function lowBalanceCrossed(
  before: { balanceFen: number; debtFen: number },
  after: { balanceFen: number; debtFen: number },
  thresholdFen: number,
): boolean {
  if (after.debtFen > before.debtFen) return false;
  return before.balanceFen >= thresholdFen && after.balanceFen < thresholdFen;
}

/**
 * A car in use reports a charge below the threshold. The rental keeps whether its member was told
 * (rentals.low_battery_noticed_at), so this holds at many reports and the notice goes once per trip.
 */
export function lowBatteryDue(car: { state: string; socPct: number }, thresholdPct: number): boolean {
  return car.state === 'in_use' && Number.isFinite(car.socPct) && car.socPct < thresholdPct;
}

/** The notification kind (push and history) of each notice; the app's texts are keyed by it. */
export const NOTICE_PUSH_KIND: Record<Exclude<NoticeKind, 'debt'>, string> = {
  'rental-started': 'rental.started',
  'rental-ended': 'rental.ended',
  'reservation-expiring': 'reservation.expiring',
  'low-balance': 'balance.low',
  'low-battery': 'battery.low',
};

const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

/** The stored title, in the member's language when it was sent (the app renders its own from kind and body). */
export function noticeTitle(kind: Exclude<NoticeKind, 'debt'>, locale: SmsMessage['locale'], params: Record<string, string | number>): string {
  const en = locale === 'en';
  switch (kind) {
    case 'rental-started':
      return en ? `Rental of ${params.plate} started` : `已开始用车 ${params.plate}`;
    case 'rental-ended':
      return en ? `Trip ended: ${yuan(Number(params.feeFen))}` : `用车结束：${yuan(Number(params.feeFen))}`;
    case 'reservation-expiring':
      return en ? `Reservation of ${params.plate} expires in ${params.minutes} min` : `预约 ${params.plate} 将在 ${params.minutes} 分钟后到期`;
    case 'low-balance':
      return en ? `Balance low: ${yuan(Number(params.balanceFen))}` : `余额不足：${yuan(Number(params.balanceFen))}`;
    case 'low-battery':
      return en ? `Battery low: ${params.socPct}%` : `电量低：${params.socPct}%`;
  }
}
