import type { ApiError } from '../api/client';
import { DICTIONARIES, type MessageKey } from '../i18n/messages';
import type { Translate } from '../i18n';

const has = (key: string): key is MessageKey => Object.hasOwn(DICTIONARIES.zh, key);

/** The message for a problem: by its stable kind (`urn:evshare:problem:<kind>`), else by status. */
export function problemKey(error: ApiError): MessageKey {
  const byKind = `problem.${error.kind}`;
  if (has(byKind)) return byKind;
  if (error.status === 0) return 'problem.network';
  if (error.status >= 500) return 'problem.server';
  return 'problem.unknown';
}

/** `body.amountFen` → the label of the field the member filled in. */
export function fieldLabelKey(name: string): MessageKey {
  const last = name.split('.').at(-1) ?? name;
  const key = `field.${last}`;
  return has(key) ? key : 'field.other';
}

/**
 * The API's reasons are English sentences written for developers; the member reads the kind of
 * mistake in their language instead.
 */
export function reasonText(t: Translate, reason: string): string {
  const r = reason.toLowerCase();
  if (/required|missing/.test(r)) return t('reason.required');
  if (/at least|too small|too short|>=|minimum/.test(r)) return t('reason.tooSmall');
  if (/at most|too big|too long|<=|maximum/.test(r)) return t('reason.tooBig');
  if (/whole number|integer|number|fen/.test(r)) return t('reason.number');
  if (/date|future|after/.test(r)) return t('reason.date');
  if (/uuid|vin|hex|card|pattern|match|format|invalid string/.test(r)) return t('reason.format');
  return t('reason.invalid');
}
