import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { DICTIONARIES, type Lang, type MessageKey } from './messages';

export type { Lang, MessageKey } from './messages';
export const LANGS: Lang[] = ['zh', 'en'];

/** The BCP 47 tag for Intl, the `lang` attribute and the API's `locale`. */
export const LOCALE: Record<Lang, 'zh-CN' | 'en'> = { zh: 'zh-CN', en: 'en' };

const STORAGE_KEY = 'evshare.lang';

export function initialLang(): Lang {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === 'en' || stored === 'zh' ? stored : 'zh';
}

export function rememberLang(lang: Lang): void {
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = LOCALE[lang];
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  lang: Lang;
  t: Translate;
  /** Fen as yuan: ¥12.34 (negative: -¥12.34). */
  money(fen: number): string;
  number(value: number, digits?: number): string;
  percent(pct: number): string;
  dateTime(iso: string | null | undefined): string;
  date(iso: string | null | undefined): string;
  time(iso: string): string;
  /** Hours and minutes, for chart axes. */
  clock(iso: string | number): string;
  /** "3 min" / "1 h 5 min" in the language. */
  duration(ms: number): string;
}

export function makeI18n(lang: Lang): I18n {
  const dict = DICTIONARIES[lang];
  const locale = LOCALE[lang];
  const moneyFormat = new Intl.NumberFormat(locale, { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol' });
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  const timeFormat = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });
  const clockFormat = new Intl.DateTimeFormat(locale, { timeStyle: 'short' });
  const t: Translate = (key, params) => {
    let text: string = dict[key];
    if (params) for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
    return text;
  };
  return {
    lang,
    t,
    money: (fen) => moneyFormat.format(fen / 100),
    number: (value, digits = 0) => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value),
    percent: (pct) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(pct / 100),
    dateTime: (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '—'),
    date: (iso) => (iso ? dateFormat.format(new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso)) : '—'),
    time: (iso) => timeFormat.format(new Date(iso)),
    clock: (iso) => clockFormat.format(new Date(iso)),
    duration: (ms) => {
      const minutes = Math.max(0, Math.floor(ms / 60_000));
      const hours = Math.floor(minutes / 60);
      return hours ? t('duration.hm', { h: hours, m: minutes % 60 }) : t('duration.m', { m: minutes });
    },
  };
}

const I18nContext = createContext<I18n>(makeI18n('zh'));

export function I18nProvider(props: { lang: Lang; children: ReactNode }) {
  const value = useMemo(() => makeI18n(props.lang), [props.lang]);
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export const useI18n = (): I18n => useContext(I18nContext);
