import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { yuanToFen } from '../member/Wallet';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useAction, useFieldErrors, useLoad, useNow } from '../../components/ui';
import { useI18n } from '../../i18n';

const MONEY_FIELDS = ['perMinuteFen', 'perKmFen', 'dailyCapFen', 'minimumFen', 'reservationFeeFen', 'oneWayFeeFen', 'oneWayPerKmFen', 'depositFen'] as const;
type MoneyField = (typeof MONEY_FIELDS)[number];

/** A time band as typed: hours and the rate in yuan. */
interface BandInput {
  fromHour: string;
  toHour: string;
  perMinute: string;
}

/**
 * Publish pricing plans (prices never change once published) for the whole fleet, a car model
 * and/or a station, with per-minute rates by local hour; end a plan's validity; see which plan
 * applies to a model at a station; set the fleet's minimums to rent.
 */
export function PricingPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const plans = useLoad(async () => ({ ...(await api.plans()), readAt: Date.now() }), []);
  const stations = useLoad(() => api.stations(), []);
  const stationName = (id: string | null) => (id ? (stations.data?.items.find((s) => s.id === id)?.name ?? id) : t('pricing.everyStation'));
  const stationOptions = [{ value: '', label: t('pricing.everyStation') }, ...(stations.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))];
  const [model, setModel] = useState('');
  const [stationId, setStationId] = useState('');
  const [timeZone, setTimeZone] = useState('');
  const [validFrom, setValidFrom] = useState('');
  const [bands, setBands] = useState<BandInput[]>([]);
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
  const hour = (text: string) => (/^\d{1,2}$/.test(text.trim()) ? Number(text) : -1);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPublished('');
    const from = validFrom.trim() === '' ? new Date() : new Date(validFrom);
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
        validFrom: Number.isNaN(from.getTime()) ? validFrom : from.toISOString(),
        validTo: null,
        vehicleModel: model.trim() === '' ? null : model.trim(),
        stationId: stationId === '' ? null : stationId,
        ...(timeZone.trim() === '' ? {} : { timeZone: timeZone.trim() }),
        timeBands: bands.map((b) => {
          const rate = yuanToFen(b.perMinute);
          return { fromHour: hour(b.fromHour), toHour: hour(b.toHour), perMinuteFen: Number.isNaN(rate) ? -1 : rate };
        }),
      }),
    );
    if (plan) {
      setPublished(plan.name);
      setName('');
      setBands([]);
      plans.reload();
    }
  };
  const setBand = (index: number, change: Partial<BandInput>) => setBands(bands.map((b, i) => (i === index ? { ...b, ...change } : b)));
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
          <Field
            label={t('pricing.vehicleModel')}
            name="vehicleModel"
            value={model}
            onChange={setModel}
            placeholder={t('pricing.everyModel')}
            error={errors.vehicleModel}
          />
          <Field label={t('field.stationId')} name="stationId" value={stationId} onChange={setStationId} options={stationOptions} error={errors.stationId} />
          <Field
            label={t('pricing.timeZone')}
            name="timeZone"
            value={timeZone}
            onChange={setTimeZone}
            placeholder="Asia/Shanghai"
            hint={t('pricing.timeZoneHint')}
            error={errors.timeZone}
          />
          <Field
            label={t('pricing.validFrom')}
            name="validFrom"
            type="datetime-local"
            value={validFrom}
            onChange={setValidFrom}
            hint={t('pricing.validFromHint')}
            error={errors.validFrom}
          />
          <fieldset className="bands">
            <legend>{t('pricing.bands')}</legend>
            <p className="hint">{t('pricing.bandsHint')}</p>
            {bands.map((band, index) => (
              <div className="form-row" key={index} data-testid="band">
                <Field
                  label={t('pricing.fromHour')}
                  name={`band-${index}-from`}
                  inputMode="numeric"
                  value={band.fromHour}
                  onChange={(v) => setBand(index, { fromHour: v })}
                  error={errors[`timeBands.${index}.fromHour`]}
                />
                <Field
                  label={t('pricing.toHour')}
                  name={`band-${index}-to`}
                  inputMode="numeric"
                  value={band.toHour}
                  onChange={(v) => setBand(index, { toHour: v })}
                  error={errors[`timeBands.${index}.toHour`]}
                />
                <Field
                  label={t('field.perMinuteFen')}
                  name={`band-${index}-rate`}
                  inputMode="decimal"
                  value={band.perMinute}
                  onChange={(v) => setBand(index, { perMinute: v })}
                  error={errors[`timeBands.${index}.perMinuteFen`]}
                />
                <button type="button" onClick={() => setBands(bands.filter((_, i) => i !== index))}>
                  {t('pricing.removeBand')}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setBands([...bands, { fromHour: '22', toHour: '6', perMinute: '0.3' }])}>
              {t('pricing.addBand')}
            </button>
          </fieldset>
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
            {
              key: 'scope',
              header: t('pricing.scope'),
              render: (p) => (
                <>
                  {p.vehicleModel ?? t('pricing.everyModel')} · {stationName(p.stationId)}
                </>
              ),
            },
            { key: 'perMinute', header: t('field.perMinuteFen'), className: 'num', render: (p) => i18n.money(p.perMinuteFen) },
            {
              key: 'bands',
              header: t('pricing.bands'),
              render: (p) =>
                p.timeBands.length === 0
                  ? '—'
                  : p.timeBands.map((b) => `${b.fromHour}:00–${b.toHour}:00 ${i18n.money(b.perMinuteFen)}`).join(', ') + ` (${p.timeZone})`,
            },
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
      <ApplicablePlanSection stationOptions={stationOptions} />
      <MinimumsSection />
    </div>
  );
}

/** Which plan a rental of a model at a station would be priced by now. */
function ApplicablePlanSection(props: { stationOptions: Array<{ value: string; label: string }> }) {
  const { t } = useI18n();
  const [model, setModel] = useState('');
  const [stationId, setStationId] = useState('');
  const lookup = useAction();
  const errors = useFieldErrors(lookup.error);
  const [found, setFound] = useState<Awaited<ReturnType<typeof api.applicablePlan>> | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const answer = await lookup.run(() => api.applicablePlan({ ...(model.trim() ? { model: model.trim() } : {}), ...(stationId ? { stationId } : {}) }));
    if (answer) setFound(answer);
  };
  return (
    <Section title={t('pricing.applicable')} id="pricing-applicable-title">
      <form onSubmit={submit} className="form-row">
        <Field
          label={t('pricing.vehicleModel')}
          name="lookupModel"
          value={model}
          onChange={setModel}
          placeholder={t('pricing.everyModel')}
          error={errors.model}
        />
        <Field
          label={t('field.stationId')}
          name="lookupStation"
          value={stationId}
          onChange={setStationId}
          options={props.stationOptions}
          error={errors.stationId}
        />
        <button type="submit" disabled={lookup.busy}>
          {t('pricing.lookup')}
        </button>
      </form>
      <ProblemBox error={lookup.error} />
      {found && (
        <p className="alert alert-info" role="status" data-testid="applicable-plan">
          {found.plan && found.scope ? (
            <>
              <span translate="no">{found.plan.name}</span> · {t(`pricing.scope.${found.scope}`)}
            </>
          ) : (
            t('pricing.noneApplies')
          )}
        </p>
      )}
    </Section>
  );
}

/** The fleet's minimums: the balance a member must hold and the charge a car must have to be rented. */
function MinimumsSection() {
  const i18n = useI18n();
  const { t } = i18n;
  const settings = useLoad(() => api.rentalSettings(), []);
  const [balance, setBalance] = useState<string | undefined>();
  const [soc, setSoc] = useState<string | undefined>();
  const save = useAction();
  const errors = useFieldErrors(save.error);
  const current = settings.data;
  const balanceText = balance ?? (current ? (current.minBalanceFen / 100).toFixed(2) : '');
  const socText = soc ?? (current ? String(current.minSocPct) : '');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const fen = yuanToFen(balanceText);
    const pct = Number(socText.trim() === '' ? Number.NaN : socText);
    if (await save.run(() => api.updateRentalSettings({ minBalanceFen: Number.isNaN(fen) ? -1 : fen, minSocPct: Number.isNaN(pct) ? -1 : pct }))) {
      setBalance(undefined);
      setSoc(undefined);
      settings.reload();
    }
  };
  return (
    <Section title={t('pricing.minimums')} id="pricing-minimums-title">
      <ProblemBox error={settings.error} />
      <form onSubmit={submit} className="form-row">
        <Field
          label={t('pricing.minBalance')}
          name="minBalanceFen"
          inputMode="decimal"
          value={balanceText}
          onChange={setBalance}
          error={errors.minBalanceFen}
        />
        <Field label={t('pricing.minSoc')} name="minSocPct" inputMode="decimal" value={socText} onChange={setSoc} error={errors.minSocPct} />
        <button type="submit" disabled={save.busy}>
          {t('pricing.saveMinimums')}
        </button>
      </form>
      <p className="hint">{t('pricing.minimumsNote')}</p>
      <ProblemBox error={save.error} />
      {current && (
        <p className="hint" data-testid="minimums-updated">
          {t('pricing.minimumsUpdated', { at: i18n.dateTime(current.updatedAt) })}
        </p>
      )}
    </Section>
  );
}
