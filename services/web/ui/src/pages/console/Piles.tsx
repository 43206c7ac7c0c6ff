import { useEffect, useId, useRef, useState } from 'react';
import { api } from '../../api/client';
import type { StationPlan, TariffBand } from '@evshare/api/schemas';
import { DataTable, type Column } from '../../components/DataTable';
import { Charge, Empty, Field, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { pileStateKey } from '../member/Charging';
import { useTicker } from './Fleet';

const PILE_COLOURS = ['#0a7d5a', '#1f5fbf', '#b26a00', '#7a3fbf', '#c62828', '#00838f'];
/** Pale, so the piles' bars stay readable on top of them. */
export const BAND_COLOURS: Record<TariffBand, string> = { peak: '#f8d7d3', flat: '#f6e9c4', valley: '#d6e7f5' };
const CAP_COLOUR = '#1d2622';
const SLOT_MS = 15 * 60_000;
const bandKey = (band: TariffBand): MessageKey => `tariff.${band}`;

/** Piles with their state and car, switched on and off; each station's time-shared charging plan. */
export function PilesPage() {
  const i18n = useI18n();
  const { t } = i18n;
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
      <Section title={t('charging.piles')} id="console-piles-title" className="card-wide">
        <DataTable
          rows={piles.data?.items}
          rowKey={(p) => p.id}
          empty={t('charging.noPiles')}
          caption={t('charging.piles')}
          columns={[
            { key: 'id', header: t('field.pileId'), data: true, render: (p) => p.id },
            { key: 'station', header: t('col.station'), data: true, render: (p) => p.stationName },
            { key: 'state', header: t('col.state'), render: (p) => `${t(pileStateKey(p.state))}${p.enabled ? '' : ` · ${t('charging.disabled')}`}` },
            { key: 'car', header: t('charging.car'), data: true, render: (p) => p.plate ?? '—' },
            { key: 'power', header: t('charging.power'), render: (p) => (p.powerW === null ? '—' : t('charging.kw', { kw: i18n.number(p.powerW / 1000, 1) })) },
            { key: 'charge', header: t('col.charge'), render: (p) => (p.socPct === null ? '—' : <Charge pct={p.socPct} />) },
            {
              key: 'actions',
              header: t('col.actions'),
              render: (p) => (
                <button type="button" onClick={() => void toggle(p.id, !p.enabled)} disabled={action.busy}>
                  {p.enabled ? t('charging.disable') : t('charging.enable')}
                </button>
              ),
            },
          ]}
        />
      </Section>
      <Section title={t('charging.plan')} id="plan-chart-title" className="card-wide">
        <div className="form-row">
          <Field
            label={t('col.station')}
            name="planStation"
            value={station}
            onChange={setStationId}
            options={(stations.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))}
          />
          <button type="button" onClick={() => void replan()} disabled={action.busy || !station}>
            {t('charging.replan')}
          </button>
        </div>
        <ProblemBox error={plans.error} />
        {plans.data && plans.data.items.length === 0 && <Empty>{t('charging.noPlan')}</Empty>}
        {plans.data && plans.data.tariff.length > 0 && <PlanChart plan={plans.data} />}
        <ul className="plain">
          {(plans.data?.items ?? []).map((p) => (
            <li key={p.pileId}>
              <code translate="no">{p.pileId}</code> · {t('charging.plannedAt', { at: i18n.dateTime(p.plannedAt) })} ·{' '}
              {p.sent ? t('charging.sent') : t('charging.notSent')}
              {p.plan?.schedule && (
                <>
                  {' '}
                  · {t('charging.energy', { kwh: i18n.number(p.plan.schedule.energyWh / 1000, 1) })} ·{' '}
                  {p.plan.schedule.meetsDeadline ? t('charging.meets') : t('charging.misses')}
                </>
              )}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

/** The element's width in CSS pixels, followed as it changes (the chart is drawn at that size, so its text stays legible). */
function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => entry && entry.contentRect.width > 0 && setWidth(Math.round(entry.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

/** A round step for about `count` axis ticks up to `max` (1, 2 or 5 times a power of ten). */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw)!;
}

/**
 * The station's plan: each pile's power per 15-minute slot, stacked, over shaded columns of the
 * tariff bands, with the station's cap as a dashed line. The same figures are in a table below
 * for screen readers and keyboard users.
 */
function PlanChart(props: { plan: StationPlan }) {
  const i18n = useI18n();
  const { t } = i18n;
  const titleId = useId();
  const descId = useId();
  const { tariff, capW } = props.plan;
  const schedules = props.plan.items.flatMap((p) => (p.plan?.schedule ? [p.plan.schedule] : []));
  const from = Date.parse(tariff[0]!.start);
  const to = Date.parse(tariff.at(-1)!.end);
  const slotStarts: number[] = [];
  for (let at = from; at < to; at += SLOT_MS) slotStarts.push(at);
  const powerAt = (slots: Array<{ start: string; powerW: number }>) => new Map(slots.map((s) => [Date.parse(s.start), s.powerW]));
  const byPile = schedules.map((s) => ({ pileId: s.pileId, power: powerAt(s.slots) }));
  const totals = slotStarts.map((at) => byPile.reduce((sum, p) => sum + (p.power.get(at) ?? 0), 0));
  const peakW = Math.max(0, ...totals);
  const kw = (w: number) => i18n.number(w / 1000, 1);

  const { ref, width: W } = useWidth(640);
  const left = 44;
  const right = 12;
  const top = 28;
  const plotH = W < 500 ? 180 : 240;
  const bottom = top + plotH;
  const plotW = W - left - right;
  const step = niceStep(Math.max(capW, peakW, 1000) * 1.1, 4);
  const yMax = Math.ceil((Math.max(capW, peakW, 1000) * 1.1) / step) * step;
  const x = (ms: number) => left + ((ms - from) / (to - from)) * plotW;
  const y = (w: number) => bottom - (w / yMax) * plotH;
  const yTicks: number[] = [];
  for (let v = 0; v <= yMax; v += step) yTicks.push(v);
  // A time label every 3 hours of the reader's clock, every 6 on a narrow screen.
  const everyHours = W < 500 ? 6 : 3;
  // Labels are centred on their tick: none so close to an edge that it would be cut.
  const xTicks = slotStarts.filter(
    (at) => new Date(at).getMinutes() === 0 && new Date(at).getHours() % everyHours === 0 && x(at) > left + 24 && x(at) < W - right - 28,
  );
  const bands = (['peak', 'flat', 'valley'] as const).filter((band) => tariff.some((s) => s.band === band));
  const priceOf = (band: TariffBand) => tariff.find((s) => s.band === band)!.fenPerKwh;
  const bandName = (at: number) => {
    const span = tariff.find((s) => Date.parse(s.start) <= at && at < Date.parse(s.end));
    return span ? t(bandKey(span.band)) : '—';
  };

  const columns: Array<Column<number>> = [
    { key: 'slot', header: t('plan.slot'), render: (i) => i18n.clock(slotStarts[i]!) },
    { key: 'band', header: t('plan.band'), render: (i) => bandName(slotStarts[i]!) },
    ...byPile.map((p): Column<number> => ({
      key: p.pileId,
      header: <span translate="no">{p.pileId}</span>,
      className: 'num',
      render: (i) => kw(p.power.get(slotStarts[i]!) ?? 0),
    })),
    { key: 'total', header: t('plan.total'), className: 'num', render: (i) => kw(totals[i]!) },
  ];

  return (
    <figure className="plan-figure">
      <div ref={ref}>
        <svg
          className="plan-chart"
          width={W}
          height={bottom + 38}
          viewBox={`0 0 ${W} ${bottom + 38}`}
          role="img"
          aria-labelledby={titleId}
          aria-describedby={descId}
          data-testid="plan-chart"
        >
          <title id={titleId}>{t('plan.chartTitle')}</title>
          <desc id={descId}>
            {t('plan.chartDesc', {
              piles: i18n.number(byPile.length),
              from: i18n.dateTime(new Date(from).toISOString()),
              to: i18n.dateTime(new Date(to).toISOString()),
              cap: kw(capW),
              peak: kw(peakW),
            })}
          </desc>
          {tariff.map((span) => {
            const x0 = x(Date.parse(span.start));
            const x1 = x(Date.parse(span.end));
            return (
              <g key={span.start} data-band={span.band}>
                <rect x={x0} y={top} width={x1 - x0} height={plotH} fill={BAND_COLOURS[span.band]} />
                {x1 - x0 >= 44 && (
                  <text x={(x0 + x1) / 2} y={top + 12} textAnchor="middle" className="chart-label chart-band">
                    {t(bandKey(span.band))}
                  </text>
                )}
              </g>
            );
          })}
          {yTicks.map((v) => (
            <g key={v}>
              <line x1={left} x2={W - right} y1={y(v)} y2={y(v)} className="chart-grid" />
              <text x={left - 6} y={y(v) + 4} textAnchor="end" className="chart-label">
                {kw(v)}
              </text>
            </g>
          ))}
          {slotStarts.map((at, i) => {
            let stacked = 0;
            return (
              <g key={at}>
                {byPile.map((p, k) => {
                  const w = p.power.get(at) ?? 0;
                  if (w <= 0) return null;
                  const y0 = y(stacked);
                  stacked += w;
                  const barW = x(at + SLOT_MS) - x(at);
                  return (
                    <rect
                      key={p.pileId}
                      x={x(at)}
                      y={y(stacked)}
                      width={Math.max(0.5, barW - 0.4)}
                      height={y0 - y(stacked)}
                      fill={PILE_COLOURS[k % PILE_COLOURS.length]}
                      data-slot={i}
                    />
                  );
                })}
              </g>
            );
          })}
          <line x1={left} x2={W - right} y1={y(capW)} y2={y(capW)} stroke={CAP_COLOUR} strokeWidth={2} strokeDasharray="6 4" data-testid="plan-cap" />
          <text x={left + 6} y={y(capW) - 6} className="chart-label chart-cap">
            {t('plan.cap', { kw: kw(capW) })}
          </text>
          <line x1={left} x2={W - right} y1={bottom} y2={bottom} className="chart-axis" />
          <line x1={left} x2={left} y1={top} y2={bottom} className="chart-axis" />
          {xTicks.map((at) => (
            <g key={at}>
              <line x1={x(at)} x2={x(at)} y1={bottom} y2={bottom + 4} className="chart-axis" />
              <text x={x(at)} y={bottom + 17} textAnchor="middle" className="chart-label">
                {i18n.clock(at)}
              </text>
            </g>
          ))}
          <text x={4} y={12} className="chart-label">
            {t('plan.axisPower')}
          </text>
          <text x={W - right} y={bottom + 34} textAnchor="end" className="chart-label">
            {t('plan.axisTime')}
          </text>
        </svg>
      </div>
      <figcaption>
        <ul className="legend">
          {bands.map((band) => (
            <li key={band}>
              <span className="swatch swatch-outline" style={{ background: BAND_COLOURS[band] }} aria-hidden="true" />
              {t('tariff.price', { band: t(bandKey(band)), price: i18n.money(priceOf(band)) })}
            </li>
          ))}
          <li>
            <span className="swatch-line" aria-hidden="true" />
            {t('plan.cap', { kw: kw(capW) })}
          </li>
          {byPile.map((p, k) => (
            <li key={p.pileId}>
              <span className="swatch" style={{ background: PILE_COLOURS[k % PILE_COLOURS.length] }} aria-hidden="true" />
              <span translate="no">{p.pileId}</span>
            </li>
          ))}
        </ul>
      </figcaption>
      <details className="plan-data">
        <summary>{t('plan.table')}</summary>
        <DataTable rows={slotStarts.map((_, i) => i)} rowKey={(i) => i} caption={t('plan.chartTitle')} testId="plan-table" columns={columns} />
      </details>
    </figure>
  );
}
