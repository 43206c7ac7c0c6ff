import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { yuanToFen } from '../member/Wallet';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useAction, useFieldErrors, useLoad, useNow } from '../../components/ui';
import { useI18n } from '../../i18n';

const MONEY_FIELDS = ['perMinuteFen', 'perKmFen', 'dailyCapFen', 'minimumFen', 'reservationFeeFen', 'oneWayFeeFen', 'oneWayPerKmFen', 'depositFen'] as const;
type MoneyField = (typeof MONEY_FIELDS)[number];

/** Publish pricing plans (prices never change once published) and end a plan's validity. */
export function PricingPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const plans = useLoad(async () => ({ ...(await api.plans()), readAt: Date.now() }), []);
  const clock = useNow(60_000);
  const [name, setName] = useState('');
  const [hold, setHold] = useState('15');
  const [prices, setPrices] = useState<Record<MoneyField, string>>({
    perMinuteFen: '0.5',
    perKmFen: '0.8',
    dailyCapFen: '199',
    minimumFen: '5',
    reservationFeeFen: '2',
    oneWayFeeFen: '15',
    oneWayPerKmFen: '0',
    depositFen: '500',
  });
  const [published, setPublished] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const fen = (field: MoneyField) => {
    const value = yuanToFen(prices[field]);
    return Number.isNaN(value) ? -1 : value;
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPublished('');
    const plan = await action.run(() =>
      api.publishPlan({
        name: name.trim(),
        perMinuteFen: fen('perMinuteFen'),
        perKmFen: fen('perKmFen'),
        dailyCapFen: prices.dailyCapFen.trim() === '' ? null : fen('dailyCapFen'),
        minimumFen: fen('minimumFen'),
        reservationFeeFen: fen('reservationFeeFen'),
        holdMinutes: Number(hold),
        oneWayFeeFen: fen('oneWayFeeFen'),
        oneWayPerKmFen: fen('oneWayPerKmFen'),
        depositFen: fen('depositFen'),
        validFrom: new Date().toISOString(),
        validTo: null,
        vehicleModel: null,
        stationId: null,
        timeBands: [],
      }),
    );
    if (plan) {
      setPublished(plan.name);
      setName('');
      plans.reload();
    }
  };
  const end = async (id: string) => {
    if (await action.run(() => api.endPlan(id, new Date().toISOString()))) plans.reload();
  };
  // "In force" as of the later of when the plans were read (so a plan just ended reads as ended at
  // once) and a clock ticking each minute (so validity ends show while the page stays open).
  const now = Math.max(clock, plans.data?.readAt ?? 0);
  const inForce = (p: { validFrom: string; validTo: string | null }) => Date.parse(p.validFrom) <= now && (p.validTo === null || Date.parse(p.validTo) > now);
  return (
    <div className="grid">
      <Section title={t('pricing.new')} id="pricing-new-title">
        <form onSubmit={submit} className="form-grid">
          <Field label={t('field.name')} name="name" value={name} onChange={setName} error={errors.name} required />
          {MONEY_FIELDS.map((f) => (
            <Field
              key={f}
              label={t(`field.${f}`)}
              name={f}
              inputMode="decimal"
              value={prices[f]}
              onChange={(v) => setPrices({ ...prices, [f]: v })}
              error={errors[f]}
            />
          ))}
          <Field label={t('field.holdMinutes')} name="holdMinutes" inputMode="numeric" value={hold} onChange={setHold} error={errors.holdMinutes} />
          <button type="submit" className="primary" disabled={action.busy}>
            {t('pricing.publish')}
          </button>
        </form>
        <p className="hint">{t('pricing.note')}</p>
        <ProblemBox error={action.error} />
        {published && (
          <p className="alert alert-ok" role="status">
            {t('pricing.published')} <span translate="no">{published}</span>
          </p>
        )}
      </Section>
      <Section title={t('pricing.list')} id="pricing-list-title">
        <ProblemBox error={plans.error} />
        <DataTable
          rows={plans.data?.items}
          rowKey={(p) => p.id}
          caption={t('pricing.list')}
          testId="plans"
          columns={[
            { key: 'name', header: t('field.name'), data: true, render: (p) => p.name },
            { key: 'perMinute', header: t('field.perMinuteFen'), className: 'num', render: (p) => i18n.money(p.perMinuteFen) },
            { key: 'perKm', header: t('field.perKmFen'), className: 'num', render: (p) => i18n.money(p.perKmFen) },
            { key: 'deposit', header: t('field.depositFen'), className: 'num', render: (p) => i18n.money(p.depositFen) },
            {
              key: 'validity',
              header: t('pricing.validity'),
              render: (p) => (
                <>
                  {i18n.dateTime(p.validFrom)} – {p.validTo ? i18n.dateTime(p.validTo) : t('pricing.open')}{' '}
                  {inForce(p) && <span className="tag tag-approved">{t('pricing.inForce')}</span>}
                </>
              ),
            },
            {
              key: 'actions',
              header: t('col.actions'),
              render: (p) =>
                inForce(p) && (
                  <button type="button" onClick={() => void end(p.id)} disabled={action.busy}>
                    {t('pricing.end')}
                  </button>
                ),
            },
          ]}
        />
      </Section>
    </div>
  );
}
