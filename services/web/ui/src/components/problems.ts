import type { ApiError } from '../api/client';
import { DICTIONARIES, type MessageKey } from '../i18n/messages';
import type { Translate } from '../i18n';

/** Whether the dictionaries have a message for this key. */
export const isMessageKey = (key: string): key is MessageKey => Object.hasOwn(DICTIONARIES.zh, key);

/** A return refusal's message (`refusal.<reason>` when the dictionaries have it), else the general one. */
export function refusalKey(reason: string): MessageKey {
  const key = `refusal.${reason}`;
  return isMessageKey(key) ? key : 'refusal.other';
}

/** The message for a problem: by its stable kind (`urn:evshare:problem:<kind>`), else by status. */
export function problemKey(error: ApiError): MessageKey {
  const byKind = `problem.${error.kind}`;
  if (isMessageKey(byKind)) return byKind;
  if (error.status === 0) return 'problem.network';
  if (error.status >= 500) return 'problem.server';
  return 'problem.unknown';
}

/** `body.amountFen` → the label of the field the member filled in. */
export function fieldLabelKey(name: string): MessageKey {
  const last = name.split('.').at(-1) ?? name;
  const key = `field.${last}`;
  return isMessageKey(key) ? key : 'field.other';
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
