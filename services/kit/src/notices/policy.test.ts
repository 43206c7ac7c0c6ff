import {
  DEFAULT_SMS_PREFERENCES,
  NOTICE_KINDS,
  OPTIONAL_SMS,
  REQUIRED_SMS,
  lowBalanceCrossed,
  lowBatteryDue,
  noticeTitle,
  sendsSms,
  smsDecision,
  smsPreferences,
  type NoticeKind,
  type SmsPreferences,
} from './policy';

const allOff: SmsPreferences = { 'rental-started': false, 'reservation-expiring': false, 'low-balance': false, 'low-battery': false };
const allOn: SmsPreferences = { 'rental-started': true, 'reservation-expiring': true, 'low-balance': true, 'low-battery': true };
const PHONE = '13900000001';

describe('smsDecision', () => {
  it.each<[NoticeKind, SmsPreferences, string | null, string]>([
    ['rental-ended', allOff, PHONE, 'required'],
    ['debt', allOff, PHONE, 'required'],
    ['rental-ended', allOn, PHONE, 'required'],
    ['rental-started', allOff, PHONE, 'opted-out'],
    ['rental-started', allOn, PHONE, 'opted-in'],
    ['reservation-expiring', allOff, PHONE, 'opted-out'],
    ['reservation-expiring', DEFAULT_SMS_PREFERENCES, PHONE, 'opted-in'],
    ['low-balance', DEFAULT_SMS_PREFERENCES, PHONE, 'opted-in'],
    ['low-battery', { ...allOn, 'low-battery': false }, PHONE, 'opted-out'],
    ['rental-started', DEFAULT_SMS_PREFERENCES, PHONE, 'opted-out'],
    // Nobody to text: a member registered by username only.
    ['rental-ended', allOn, null, 'no-phone'],
    ['low-battery', allOn, '', 'no-phone'],
  ])('%s with %j to %s: %s', (kind, preferences, phone, expected) => {
    expect(smsDecision(kind, preferences, phone)).toBe(expected);
  });

  it('sends exactly the required and opted-in ones', () => {
    expect(['required', 'opted-in', 'opted-out', 'no-phone'].filter((d) => sendsSms(d as never))).toEqual(['required', 'opted-in']);
  });

  it('every kind is either required or optional, never both', () => {
    for (const kind of NOTICE_KINDS) expect((REQUIRED_SMS as readonly string[]).includes(kind)).toBe(!(OPTIONAL_SMS as readonly string[]).includes(kind));
  });
});

describe('smsPreferences', () => {
  it.each<[string, unknown, SmsPreferences]>([
    ['no row', null, DEFAULT_SMS_PREFERENCES],
    ['an empty choice', {}, DEFAULT_SMS_PREFERENCES],
    ['one choice over the defaults', { 'rental-started': true }, { ...DEFAULT_SMS_PREFERENCES, 'rental-started': true }],
    ['every choice', allOff, allOff],
    ['a stored non-boolean is ignored', { 'low-balance': 'no', 'low-battery': 0 }, DEFAULT_SMS_PREFERENCES],
    ['a required kind cannot be stored off', { 'rental-ended': false, debt: false }, DEFAULT_SMS_PREFERENCES],
    ['not an object', 'off', DEFAULT_SMS_PREFERENCES],
    ['an array', [false], DEFAULT_SMS_PREFERENCES],
  ])('%s', (_name, stored, expected) => {
    expect(smsPreferences(stored)).toEqual(expected);
  });

  it('a rental-started SMS is off and the warnings on for a member who never chose', () => {
    expect(DEFAULT_SMS_PREFERENCES).toEqual({ 'rental-started': false, 'reservation-expiring': true, 'low-balance': true, 'low-battery': true });
  });
});

describe('lowBalanceCrossed', () => {
  const at = (balanceFen: number, debtFen = 0) => ({ balanceFen, debtFen });
  it.each<[string, ReturnType<typeof at>, ReturnType<typeof at>, boolean]>([
    ['from above to below', at(2_500), at(1_500), true],
    ['from exactly the threshold to below', at(2_000), at(1_999), true],
    ['down to exactly the threshold', at(2_500), at(2_000), false],
    ['already below: no second notice', at(1_500), at(900), false],
    ['staying above', at(9_000), at(5_000), false],
    ['a refund back above', at(1_500), at(2_500), false],
    ['into debt: the debt SMS tells it', at(2_500), at(0, 300), false],
    ['to zero without debt', at(2_500), at(0), true],
  ])('%s', (_name, before, after, expected) => {
    expect(lowBalanceCrossed(before, after, 2_000)).toBe(expected);
  });
});

describe('lowBatteryDue', () => {
  it.each<[string, { state: string; socPct: number }, boolean]>([
    ['a car in use below the threshold', { state: 'in_use', socPct: 14.5 }, true],
    ['at the threshold', { state: 'in_use', socPct: 15 }, false],
    ['above', { state: 'in_use', socPct: 60 }, false],
    ['a parked car (nobody to tell)', { state: 'available', socPct: 5 }, false],
    ['a reserved car', { state: 'reserved', socPct: 5 }, false],
    ['a report without a number', { state: 'in_use', socPct: Number.NaN }, false],
  ])('%s', (_name, car, expected) => {
    expect(lowBatteryDue(car, 15)).toBe(expected);
  });
});

describe('noticeTitle', () => {
  it.each([
    ['rental-ended', 'en', { plate: 'B1', feeFen: 1_235 }, 'Trip ended: ¥12.35'],
    ['rental-ended', 'zh-CN', { plate: 'B1', feeFen: 1_235 }, '用车结束：¥12.35'],
    ['low-balance', 'en', { balanceFen: 905 }, 'Balance low: ¥9.05'],
    ['low-battery', 'zh-CN', { plate: 'B1', socPct: 12 }, '电量低：12%'],
    ['reservation-expiring', 'en', { plate: 'B1', minutes: 5 }, 'Reservation of B1 expires in 5 min'],
    ['rental-started', 'en', { plate: 'B1', station: 'Home' }, 'Rental of B1 started'],
  ] as const)('%s in %s', (kind, locale, params, expected) => {
    expect(noticeTitle(kind, locale, params)).toBe(expected);
  });
});
