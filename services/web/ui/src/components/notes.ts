import type { Notification } from '@evshare/api/schemas';
import type { I18n, MessageKey } from '../i18n';
import { DICTIONARIES } from '../i18n/messages';

export function ledgerKindText(i18n: I18n, kind: string): string {
  const key = `ledger.${kind}`;
  return i18n.t(Object.hasOwn(DICTIONARIES.zh, key) ? (key as MessageKey) : 'ledger.other');
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * A notification in the reader's language, built from its kind and body (the stored title is in
 * the member's language at the time it was sent).
 */
export function notificationText(i18n: I18n, n: Notification): string {
  const { t } = i18n;
  const body = n.body ?? {};
  const amount = typeof body.amountFen === 'number' ? body.amountFen : undefined;
  switch (n.kind) {
    case 'receipt':
      if (amount === undefined) return t('note.receipt');
      return amount < 0
        ? t('note.charged', {
            amount: i18n.money(-amount),
            what: ledgerKindText(i18n, typeof body.kind === 'string' ? body.kind : ''),
            balance: i18n.money(Number(body.balanceFen ?? 0)),
          })
        : t('note.refunded', { amount: i18n.money(amount), balance: i18n.money(Number(body.balanceFen ?? 0)) });
    case 'rental.ended':
      return t('note.rentalEnded', { amount: i18n.money(Number(body.totalFen ?? 0)) });
    case 'rental.started':
      return t('note.rentalStarted', { plate: text(body.plate) });
    case 'reservation.expiring':
      return t('note.reservationExpiring', { plate: text(body.plate), minutes: Number(body.minutes ?? 0) });
    case 'balance.low':
      return t('note.balanceLow', { amount: i18n.money(Number(body.balanceFen ?? 0)) });
    case 'battery.low':
      return t('note.batteryLow', {
        soc: Number(body.socPct ?? 0),
        stations:
          Array.isArray(body.stations) && body.stations.length > 0
            ? body.stations.map((s: unknown) => text((s as { name?: unknown } | null)?.name)).join(', ')
            : '—',
      });
    case 'reservation.expired':
      return t('note.reservationExpired', { amount: i18n.money(Number(body.feeFen ?? 0)) });
    case 'top-up':
      return t('note.topUp');
    case 'deposit-refund':
      return t('note.depositRefunded', { amount: i18n.money(amount ?? 0) });
    case 'licence':
      return body.status === 'approved' ? t('note.licenceApproved') : t('note.licenceRejected');
    default:
      // An operator's notice: its title is the operator's own words, shown as written.
      return n.title || t('note.other');
  }
}

const KNOWN_KINDS = [
  'receipt',
  'rental.ended',
  'rental.started',
  'reservation.expiring',
  'reservation.expired',
  'balance.low',
  'battery.low',
  'top-up',
  'deposit-refund',
  'licence',
];
/** Whether the text is the UI's (translated) or an operator's words (data, shown as written). */
export const isTranslated = (n: Notification): boolean => KNOWN_KINDS.includes(n.kind);
