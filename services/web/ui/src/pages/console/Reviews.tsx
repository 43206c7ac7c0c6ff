import { useState } from 'react';
import { api } from '../../api/client';
import type { DeviceChargeReview } from '@evshare/api/schemas';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';

const REASONS = [
  'energy-above-rating',
  'meter-backwards',
  'clock-skew',
  'member-not-allowed',
  'starts-in-future',
  'starts-too-long-ago',
  'too-long',
  'too-fast',
  'odometer-backwards',
];
const reasonKey = (reason: string): MessageKey => (REASONS.includes(reason) ? `reviewReason.${reason}` : 'reviewReason.other') as MessageKey;

/**
 * Device-reported charges outside their bounds (a pile's energy beyond its rating, a car's trip
 * for a member not on it): none is billed until an operator approves, adjusts or waives it.
 */
export function ReviewsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const [status, setStatus] = useState('pending');
  const [kind, setKind] = useState('');
  const list = useLoad(() => api.reviews({ status: status || undefined, kind: kind || undefined }), [status, kind]);
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const action = useAction();

  const decide = async (item: DeviceChargeReview, decision: 'approve' | 'adjust' | 'waive') => {
    const amountFen = Math.round(Number(amounts[item.id] ?? '') * 100);
    if (await action.run(() => api.decideReview(item.id, decision === 'adjust' ? { decision, amountFen } : { decision }))) list.reload();
  };

  return (
    <Section title={t('reviews.title')} id="reviews-title">
      <p className="muted">{t('reviews.intro')}</p>
      <div className="form-row">
        <Field
          label={t('col.status')}
          name="reviewStatus"
          value={status}
          onChange={setStatus}
          options={[
            { value: 'pending', label: t('reviewStatus.pending') },
            { value: 'approved', label: t('reviewStatus.approved') },
            { value: 'adjusted', label: t('reviewStatus.adjusted') },
            { value: 'waived', label: t('reviewStatus.waived') },
            { value: '', label: t('rentals.all') },
          ]}
        />
        <Field
          label={t('reviews.kind')}
          name="reviewKind"
          value={kind}
          onChange={setKind}
          options={[
            { value: '', label: t('rentals.all') },
            { value: 'charging', label: t('reviewKind.charging') },
            { value: 'trip', label: t('reviewKind.trip') },
          ]}
        />
      </div>
      <ProblemBox error={list.error ?? action.error} />
      <DataTable
        rows={list.data?.items}
        rowKey={(r) => r.id}
        empty={t('reviews.none')}
        caption={t('reviews.title')}
        testId="reviews"
        columns={[
          { key: 'time', header: t('col.time'), render: (r) => i18n.dateTime(r.createdAt) },
          { key: 'kind', header: t('reviews.kind'), render: (r) => t(`reviewKind.${r.kind}` as MessageKey) },
          { key: 'device', header: t('reviews.device'), data: true, render: (r) => <code>{r.device}</code> },
          { key: 'reasons', header: t('reviews.reasons'), render: (r) => r.reasons.map((reason) => t(reasonKey(reason))).join('; ') },
          { key: 'reported', header: t('reviews.reported'), render: (r) => i18n.money(r.reportedFen) },
          { key: 'bounded', header: t('reviews.bounded'), render: (r) => i18n.money(r.boundedFen) },
          {
            key: 'decision',
            header: t('col.status'),
            render: (r) =>
              r.status === 'pending' ? (
                <div className="row">
                  <button type="button" onClick={() => void decide(r, 'approve')} disabled={action.busy}>
                    {t('reviews.approve')}
                  </button>
                  <Field
                    label={t('reviews.amountYuan')}
                    name={`amount-${r.id}`}
                    inputMode="decimal"
                    value={amounts[r.id] ?? ''}
                    onChange={(v) => setAmounts({ ...amounts, [r.id]: v })}
                  />
                  <button type="button" className="primary" onClick={() => void decide(r, 'adjust')} disabled={action.busy || !(Number(amounts[r.id]) > 0)}>
                    {t('reviews.adjust')}
                  </button>
                  <button type="button" onClick={() => void decide(r, 'waive')} disabled={action.busy}>
                    {t('reviews.waive')}
                  </button>
                </div>
              ) : (
                `${t(`reviewStatus.${r.status}` as MessageKey)} · ${i18n.money(r.decidedFen ?? 0)}`
              ),
          },
        ]}
      />
    </Section>
  );
}
