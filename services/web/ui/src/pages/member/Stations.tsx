import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import type { AvailableVehicle } from '@evshare/api/schemas';
import { Link } from '../../components/Link';
import { StationPlan } from '../../components/StationPlan';
import { Charge, Empty, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';
import { useApp } from '../../state';

/** Stations on the plan with live counts; a station's cars, to reserve or rent. */
export function StationsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const [tick, setTick] = useState(0);
  const interval = app.sync?.pollAfterMs ?? 5_000;
  useEffect(() => {
    // Other members take and return cars: the counts are refreshed on the poll's rhythm.
    const timer = setInterval(() => setTick((n) => n + 1), interval);
    return () => clearInterval(timer);
  }, [interval]);
  const stations = useLoad(() => api.stations(), [app.version, tick]);
  const plan = useLoad(() => api.currentPlan(), [app.version]);
  const [selected, setSelected] = useState<string>();
  const list = stations.data?.items ?? [];
  const current = list.find((s) => s.id === selected) ?? list[0];
  const vehicles = useLoad(async () => {
    if (!current) return [] as AvailableVehicle[];
    const { items } = await api.stationVehicles(current.id);
    app.rememberVehicles(items);
    return items;
  }, [current?.id, app.version, tick]);
  const action = useAction();
  const busyTrip = Boolean(app.sync?.reservation || app.sync?.rental);

  const reserve = async (vehicleId: string) => {
    if (await action.run(() => api.reserve(vehicleId))) {
      app.refresh();
      app.navigate('/trip');
    }
  };
  const rent = async (vehicleId: string) => {
    if (await action.run(() => api.rent({ vehicleId }))) {
      app.refresh();
      app.navigate('/trip');
    }
  };

  return (
    <div className="grid">
      {busyTrip && (
        <p className="alert alert-info" role="status">
          {app.sync?.rental ? t('stations.youHaveRental') : t('stations.youHaveReservation')} <Link to="/trip">{t('stations.toTrip')}</Link>
        </p>
      )}
      <ProblemBox error={stations.error} />
      <Section title={t('stations.plan')} id="plan-title">
        <StationPlan stations={list} selected={current?.id} onSelect={setSelected} title={t('stations.planLabel')} />
        <ul className="station-list">
          {list.map((s) => (
            <li key={s.id}>
              <button
                type="button"
                className={`station-button${s.id === current?.id ? ' selected' : ''}`}
                aria-pressed={s.id === current?.id}
                onClick={() => setSelected(s.id)}
              >
                <span className="station-name" translate="no">
                  {s.name}
                </span>
                <span className="station-counts">{t('stations.counts', { cars: i18n.number(s.availableCars), free: i18n.number(s.freeParking) })}</span>
                <span className="tag">{s.returnPolicy === 'open' ? t('stations.policyOpen') : t('stations.policyRoundTrip')}</span>
              </button>
            </li>
          ))}
        </ul>
      </Section>
      <Section
        title={t('stations.cars')}
        id="cars-title"
        actions={
          current && (
            <span translate="no" className="card-sub">
              {current.name}
            </span>
          )
        }
      >
        <ProblemBox error={action.error ?? vehicles.error} />
        {vehicles.data && vehicles.data.length === 0 && <Empty>{t('stations.noCars')}</Empty>}
        <ul className="vehicle-list">
          {(vehicles.data ?? []).map((v) => (
            <li key={v.id} className="vehicle" data-vehicle={v.plate}>
              <div className="vehicle-main">
                <svg viewBox="0 0 48 24" width="48" height="24" aria-hidden="true">
                  <path d="M4 16l4-8h26l8 8v4H4z" fill="#0a7d5a" />
                  <circle cx="13" cy="20" r="3.5" fill="#222" />
                  <circle cx="35" cy="20" r="3.5" fill="#222" />
                </svg>
                <div>
                  <strong translate="no">{v.plate}</strong>
                  <span className="muted" translate="no">
                    {' '}
                    {v.model}
                  </span>
                  <div className="vehicle-meta">
                    <Charge pct={v.socPct} />
                    <span>{t('vehicle.range', { km: i18n.number(v.estimatedRangeKm) })}</span>
                  </div>
                </div>
              </div>
              <div className="vehicle-actions">
                <button type="button" onClick={() => void reserve(v.id)} disabled={action.busy || busyTrip}>
                  {t('stations.reserve')}
                </button>
                <button type="button" className="primary" onClick={() => void rent(v.id)} disabled={action.busy || busyTrip}>
                  {t('stations.rentNow')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      </Section>
      {plan.data && (
        <Section title={t('plan.title')} id="plan-price-title">
          <dl className="facts">
            <dt>{t('plan.perMinute')}</dt>
            <dd>{i18n.money(plan.data.perMinuteFen)}</dd>
            <dt>{t('plan.perKm')}</dt>
            <dd>{i18n.money(plan.data.perKmFen)}</dd>
            <dt>{t('plan.dailyCap')}</dt>
            <dd>{plan.data.dailyCapFen === null ? t('plan.none') : i18n.money(plan.data.dailyCapFen)}</dd>
            <dt>{t('plan.oneWay')}</dt>
            <dd>{i18n.money(plan.data.oneWayFeeFen)}</dd>
            <dt>{t('plan.hold')}</dt>
            <dd>{t('plan.holdValue', { m: plan.data.holdMinutes, fee: i18n.money(plan.data.reservationFeeFen) })}</dd>
            <dt>{t('plan.deposit')}</dt>
            <dd>{i18n.money(plan.data.depositFen)}</dd>
          </dl>
        </Section>
      )}
    </div>
  );
}
