import { smsTemplates, type SmsMessage } from '@evshare/kit';

export type SmsTemplate = (typeof smsTemplates)[number];
export type SmsLocale = SmsMessage['locale'];
export type SmsParams = SmsMessage['params'];

/** A message that cannot be rendered (a missing or wrong parameter): no retry can fix it. */
export class TemplateError extends Error {}

const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

interface TemplateDefinition {
  /** Parameters the text needs; names ending in `Fen` are non-negative integer fen shown as yuan. */
  params: readonly string[];
  text: Record<SmsLocale, (p: Record<string, string>) => string>;
}

// Chinese SMS put the sender's signature in 【】 first, as Chinese gateways require.
const TEMPLATES: Record<SmsTemplate, TemplateDefinition> = {
  'verification-code': {
    params: ['code', 'minutes'],
    text: {
      'zh-CN': (p) => `【evshare】您的验证码是 ${p.code}，${p.minutes} 分钟内有效。请勿告诉他人。`,
      en: (p) => `[evshare] Your verification code is ${p.code}. It expires in ${p.minutes} minutes. Do not share it.`,
    },
  },
  'reservation-expiring': {
    params: ['plate', 'minutes'],
    text: {
      'zh-CN': (p) => `【evshare】您预约的车辆 ${p.plate} 将在 ${p.minutes} 分钟后到期，请尽快取车。`,
      en: (p) => `[evshare] Your reservation of ${p.plate} expires in ${p.minutes} minutes.`,
    },
  },
  'rental-started': {
    params: ['plate', 'station'],
    text: {
      'zh-CN': (p) => `【evshare】您已在 ${p.station} 开始用车 ${p.plate}，祝您出行愉快。`,
      en: (p) => `[evshare] Your rental of ${p.plate} from ${p.station} has started. Drive safely.`,
    },
  },
  'rental-ended': {
    params: ['plate', 'feeFen'],
    text: {
      'zh-CN': (p) => `【evshare】您本次用车 ${p.plate} 已结束，费用 ¥${p.feeFen}。`,
      en: (p) => `[evshare] Your rental of ${p.plate} has ended. Fee: ¥${p.feeFen}.`,
    },
  },
  'low-balance': {
    params: ['balanceFen'],
    text: {
      'zh-CN': (p) => `【evshare】您的账户余额仅剩 ¥${p.balanceFen}，请及时充值。`,
      en: (p) => `[evshare] Your balance is down to ¥${p.balanceFen}. Please top up.`,
    },
  },
  'low-battery': {
    params: ['plate', 'socPct', 'stations'],
    text: {
      'zh-CN': (p) => `【evshare】您驾驶的车辆 ${p.plate} 电量仅剩 ${p.socPct}%，附近有空车位和空闲充电桩的站点：${p.stations}。`,
      en: (p) => `[evshare] ${p.plate} is down to ${p.socPct}% charge. Nearby stations with free parking and a free charger: ${p.stations}.`,
    },
  },
  debt: {
    params: ['debtFen'],
    text: {
      'zh-CN': (p) => `【evshare】您的账户已欠费 ¥${p.debtFen}，请尽快充值；欠费期间无法用车。`,
      en: (p) => `[evshare] Your account is ¥${p.debtFen} in debt. Please top up; you cannot rent until it is paid.`,
    },
  },
  'operator-notice': {
    params: ['text'],
    text: {
      'zh-CN': (p) => `【evshare】${p.text}`,
      en: (p) => `[evshare] ${p.text}`,
    },
  },
};

const MAX_PARAM_LENGTH = 300;

/** Pure: the text of an SMS. Throws TemplateError naming a missing or malformed parameter. */
export function render(template: SmsTemplate, locale: SmsLocale, params: SmsParams): string {
  const definition = TEMPLATES[template];
  const values: Record<string, string> = {};
  for (const name of definition.params) {
    const value = params[name];
    if (value === undefined) throw new TemplateError(`${template}: parameter ${name} is missing`);
    if (name.endsWith('Fen')) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
        throw new TemplateError(`${template}: parameter ${name} must be a non-negative integer (fen)`);
      values[name] = yuan(value);
    } else {
      // Control characters could break the gateway's framing or forge extra lines.
      const text = String(value)
        // eslint-disable-next-line no-control-regex -- removing control characters is the point
        .replace(/[\u0000-\u001f\u007f]+/g, ' ')
        .trim();
      if (text.length === 0 || text.length > MAX_PARAM_LENGTH)
        throw new TemplateError(`${template}: parameter ${name} must be 1 to ${MAX_PARAM_LENGTH} characters`);
      values[name] = text;
    }
  }
  return definition.text[locale](values);
}

/** The parameters a template needs, for the admin API and the docs. */
export function templateParams(template: SmsTemplate): readonly string[] {
  return TEMPLATES[template].params;
}

/**
 * What the SMS log keeps: the development outbox keeps the text (developers read codes there);
 * for a real gateway a verification code is masked so the database never holds a live code.
 */
export function loggedBody(template: SmsTemplate, locale: SmsLocale, params: SmsParams, keepSecrets: boolean): string {
  if (keepSecrets || template !== 'verification-code') return render(template, locale, params);
  return render(template, locale, { ...params, code: '******' });
}
