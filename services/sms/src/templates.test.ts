import { smsTemplates } from '@evshare/kit';
import { TemplateError, loggedBody, render, templateParams } from './templates';

const sample: Record<string, string | number> = {
  code: '042917',
  minutes: 5,
  plate: '沪A·D12345',
  station: 'People’s Square',
  feeFen: 2_350,
  balanceFen: 905,
  debtFen: 12_000,
  text: 'Station closed for maintenance on Sunday',
  socPct: 14,
  stations: 'People’s Square 1.2 km, Jing’an Temple 2.5 km',
};

describe('render', () => {
  it.each(smsTemplates.flatMap((t) => (['zh-CN', 'en'] as const).map((l) => [t, l] as const)))('%s in %s uses every parameter', (template, locale) => {
    const params = Object.fromEntries(templateParams(template).map((name) => [name, sample[name]!]));
    const text = render(template, locale, params);
    expect(text).toMatch(locale === 'en' ? /^\[evshare\] / : /^【evshare】/);
    for (const name of templateParams(template)) {
      const shown = name.endsWith('Fen') ? `¥${((sample[name] as number) / 100).toFixed(2)}` : String(sample[name]);
      expect(text).toContain(shown);
    }
  });

  it.each([
    ['verification-code', 'zh-CN', { code: '123456', minutes: 5 }, '【evshare】您的验证码是 123456，5 分钟内有效。请勿告诉他人。'],
    ['verification-code', 'en', { code: '123456', minutes: 5 }, '[evshare] Your verification code is 123456. It expires in 5 minutes. Do not share it.'],
    ['debt', 'zh-CN', { debtFen: 5 }, '【evshare】您的账户已欠费 ¥0.05，请尽快充值；欠费期间无法用车。'],
    ['rental-ended', 'en', { plate: 'B1', feeFen: 100_000 }, '[evshare] Your rental of B1 has ended. Fee: ¥1000.00.'],
    ['operator-notice', 'en', { text: 'line one\nline two' }, '[evshare] line one line two'],
    [
      'low-battery',
      'zh-CN',
      { plate: '沪A1', socPct: 12, stations: '人民广场 1.2 km' },
      '【evshare】您驾驶的车辆 沪A1 电量仅剩 12%，附近有空车位和空闲充电桩的站点：人民广场 1.2 km。',
    ],
  ] as const)('%s %s', (template, locale, params, expected) => {
    expect(render(template, locale, params)).toBe(expected);
  });

  it.each([
    ['a missing parameter', 'debt', {}, /debtFen is missing/],
    ['money as text', 'debt', { debtFen: '12.00' }, /debtFen must be a non-negative integer/],
    ['negative money', 'low-balance', { balanceFen: -1 }, /balanceFen must be a non-negative integer/],
    ['fractional fen', 'rental-ended', { plate: 'B1', feeFen: 1.5 }, /feeFen must be a non-negative integer/],
    ['an empty text', 'operator-notice', { text: '  ' }, /text must be 1 to 300/],
    ['an overlong text', 'operator-notice', { text: 'x'.repeat(301) }, /text must be 1 to 300/],
  ] as const)('refuses %s', (_name, template, params, message) => {
    expect(() => render(template, 'en', params)).toThrow(TemplateError);
    expect(() => render(template, 'en', params)).toThrow(message);
  });
});

describe('loggedBody', () => {
  it('masks a verification code for a real gateway and keeps it in the development outbox', () => {
    expect(loggedBody('verification-code', 'en', { code: '123456', minutes: 5 }, false)).not.toContain('123456');
    expect(loggedBody('verification-code', 'en', { code: '123456', minutes: 5 }, true)).toContain('123456');
    expect(loggedBody('debt', 'en', { debtFen: 100 }, false)).toContain('¥1.00');
  });
});
