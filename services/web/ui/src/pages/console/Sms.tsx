import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { useTicker } from './Fleet';

const smsStatusKey = (s: string): MessageKey => (['pending', 'sent', 'dead', 'limited'].includes(s) ? `smsStatus.${s}` : 'smsStatus.other') as MessageKey;

/** The SMS log: in development, the outbox of the fake provider (registration codes are read here). */
export function SmsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const tick = useTicker(5_000);
  const [phone, setPhone] = useState('');
  const [filter, setFilter] = useState('');
  const log = useLoad(() => api.sms(filter || undefined), [filter, tick]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFilter(phone.trim());
  };
  return (
    <Section title={t('sms.title')} id="sms-title">
      <form onSubmit={submit} className="form-row">
        <Field label={t('field.phone')} name="smsPhone" type="tel" value={phone} onChange={setPhone} />
        <button type="submit">{t('members.searchSubmit')}</button>
      </form>
      <ProblemBox error={log.error} />
      <DataTable
        rows={log.data?.items}
        rowKey={(m) => m.reference}
        empty={t('sms.none')}
        caption={t('sms.title')}
        testId="sms"
        columns={[
          { key: 'time', header: t('col.time'), render: (m) => i18n.dateTime(m.createdAt) },
          { key: 'phone', header: t('field.phone'), data: true, render: (m) => m.phone ?? '—' },
          { key: 'template', header: t('sms.template'), data: true, render: (m) => <code>{m.template}</code> },
          { key: 'body', header: t('sms.body'), data: true, render: (m) => m.body ?? '—' },
          { key: 'status', header: t('col.status'), render: (m) => `${t(smsStatusKey(m.status))}${m.attempts > 1 ? ` ×${m.attempts}` : ''}` },
        ]}
      />
    </Section>
  );
}
