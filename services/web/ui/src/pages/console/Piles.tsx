import { useState } from 'react';
import { api } from '../../api/client';
import type { PilePlan } from '../../api/types';
import { Charge, Empty, Field, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';
import { pileStateKey } from '../member/Charging';
import { useTicker } from './Fleet';

const PILE_COLOURS = ['#0a7d5a', '#1f5fbf', '#b26a00', '#7a3fbf', '#c62828', '#00838f'];

/** Piles with their state and car, switched on and off; each station's time-shared charging plan. */
export function PilesPage() {
  const { t, number, dateTime } = useI18n();
  const tick = useTicker(5_000);
  const stations = useLoad(() => api.stations(), []);
  const piles = useLoad(() => api.piles(), [tick]);
  const [stationId, setStationId] = useState('');
  const station = stationId || stations.data?.items[0]?.id || '';
  const plans = useLoad(async () => (station ? api.stationPlan(station) : undefined), [station, tick]);
  const action = useAction();
  const toggle = async (id: string, enabled: boolean) => {
    if (await action.run(() => api.setPileEnabled(id, enabled))) piles.reload();
  };
  const replan = async () => {
    if (station && (await action.run(() => api.planStation(station)))) plans.reload();
  };
  return (
    <div className="grid">
      <ProblemBox error={piles.error ?? action.error} />
      <Section title={t('charging.piles')} id="console-piles-title">
        {piles.data && piles.data.items.length === 0 && <Empty>{t('charging.noPiles')}</Empty>}
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('field.pileId')}</th>
                <th scope="col">{t('col.station')}</th>
                <th scope="col">{t('col.state')}</th>
                <th scope="col">{t('charging.car')}</th>
                <th scope="col">{t('charging.power')}</th>
                <th scope="col">{t('col.charge')}</th>
                <th scope="col">{t('col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {(piles.data?.items ?? []).map((p) => (
                <tr key={p.id}>
                  <td translate="no">{p.id}</td>
                  <td translate="no">{p.stationName}</td>
                  <td>
                    {t(pileStateKey(p.state))}
                    {!p.enabled && ` · ${t('charging.disabled')}`}
                  </td>
                  <td translate="no">{p.plate ?? '—'}</td>
                  <td>{p.powerW === null ? '—' : t('charging.kw', { kw: number(p.powerW / 1000, 1) })}</td>
                  <td>{p.socPct === null ? '—' : <Charge pct={p.socPct} />}</td>
                  <td>
                    <button type="button" onClick={() => void toggle(p.id, !p.enabled)} disabled={action.busy}>
                      {p.enabled ? t('charging.disable') : t('charging.enable')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title={t('charging.plan')} id="plan-chart-title">
        <div className="form-row">
          <Field label={t('col.station')} name="planStation" value={station} onChange={setStationId} options={(stations.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))} />
          <button type="button" onClick={() => void replan()} disabled={action.busy || !station}>
            {t('charging.replan')}
          </button>
        </div>
        {plans.data && plans.data.items.length === 0 && <Empty>{t('charging.noPlan')}</Empty>}
        {plans.data && plans.data.items.length > 0 && <PlanChart plans={plans.data.items} />}
        <ul className="plain">
          {(plans.data?.items ?? []).map((p) => (
            <li key={p.pileId}>
              <code translate="no">{p.pileId}</code> · {t('charging.plannedAt', { at: dateTime(p.plannedAt) })} · {p.sent ? t('charging.sent') : t('charging.notSent')}
              {p.plan?.schedule && (
                <>
                  {' '}
                  · {t('charging.energy', { kwh: number(p.plan.schedule.energyWh / 1000, 1) })} · {p.plan.schedule.meetsDeadline ? t('charging.meets') : t('charging.misses')}
                </>
              )}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

/** Each pile's planned power per 15-minute slot, stacked, over the planning horizon. */
function PlanChart(props: { plans: PilePlan[] }) {
  const { t, time, number } = useI18n();
  const schedules = props.plans.flatMap((p) => (p.plan?.schedule ? [p.plan.schedule] : []));
  const slots = schedules[0]?.slots ?? [];
  if (slots.length === 0) return null;
  const totals = slots.map((_, i) => schedules.reduce((sum, s) => sum + (s.slots[i]?.powerW ?? 0), 0));
  const max = Math.max(1, ...totals);
  const W = 600;
  const H = 180;
  const w = W / slots.length;
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H + 24}`} role="img" aria-label={t('charging.plan')}>
      <rect width={W} height={H} fill="#f7faf9" />
      {slots.map((slot, i) => {
        let y = H;
        return (
          <g key={slot.start}>
            {schedules.map((s, k) => {
              const h = ((s.slots[i]?.powerW ?? 0) / max) * (H - 10);
              y -= h;
              return h > 0 ? <rect key={s.pileId} x={i * w} y={y} width={Math.max(1, w - 0.5)} height={h} fill={PILE_COLOURS[k % PILE_COLOURS.length]} /> : null;
            })}
          </g>
        );
      })}
      <text x="4" y={H + 16} className="chart-label">
        {time(slots[0]!.start)}
      </text>
      <text x={W - 4} y={H + 16} textAnchor="end" className="chart-label">
        {time(slots.at(-1)!.start)}
      </text>
      <text x="4" y="14" className="chart-label">
        {t('charging.kw', { kw: number(max / 1000, 1) })}
      </text>
    </svg>
  );
}
