import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { Vehicle, VehicleState } from '@evshare/api/schemas';
import { StationPlan, VEHICLE_COLOURS } from '../../components/StationPlan';
import { DataTable } from '../../components/DataTable';
import { Charge, Empty, Field, ProblemBox, Section, stateKey, useAction, useFieldErrors, useLoad, useNow } from '../../components/ui';
import { useI18n } from '../../i18n';

// Every state the API knows, in the legend's order.
const VEHICLE_STATES = Object.keys(VEHICLE_COLOURS) as VehicleState[];
const LOW_CHARGE_PCT = 20;
/** A car that has not reported for this long is shown as silent. */
const STALE_REPORT_MS = 10 * 60_000;
const REFRESH_MS = 5_000;

export function useTicker(ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return tick;
}

/** The fleet at a glance: cars by state, alerts, positions on the plan; cars in and out of service; a new car. */
export function FleetPage() {
  const i18n = useI18n();
  const { t } = i18n;
  // The clock the alerts are judged by; each of its ticks also reloads the fleet.
  const now = useNow(REFRESH_MS);
  const vehicles = useLoad(() => api.vehicles(), [now]);
  const stations = useLoad(() => api.stations(), [now]);
  const action = useAction();
  const cars = vehicles.data?.items ?? [];
  const stationList = stations.data?.items ?? [];
  const stationName = (id: string | null) => stationList.find((s) => s.id === id)?.name ?? '—';
  const counts = VEHICLE_STATES.map((state) => ({ state, n: cars.filter((c) => c.state === state).length }));
  const max = Math.max(1, ...counts.map((c) => c.n));
  const alerts = cars.flatMap((c) => {
    const out: Array<{ car: Vehicle; kind: 'offline' | 'lowCharge' | 'silent' }> = [];
    if (c.state === 'offline') out.push({ car: c, kind: 'offline' });
    if (c.socPct < LOW_CHARGE_PCT) out.push({ car: c, kind: 'lowCharge' });
    if (c.reportedAt && now - Date.parse(c.reportedAt) > STALE_REPORT_MS && c.state !== 'offline') out.push({ car: c, kind: 'silent' });
    return out;
  });

  const setState = async (car: Vehicle, state: 'available' | 'maintenance' | 'offline') => {
    if (await action.run(() => api.setVehicleState(car.id, state))) vehicles.reload();
  };
  const command = async (car: Vehicle, what: 'lock' | 'immobilise') => {
    if (await action.run(() => api.commandVehicle(car.id, what))) vehicles.reload();
  };

  return (
    <div className="grid">
      <ProblemBox error={vehicles.error ?? stations.error} />
      <Section title={t('fleet.byState')} id="by-state-title">
        <svg className="bars" viewBox={`0 0 320 ${counts.length * 28}`} role="img" aria-label={t('fleet.byState')}>
          {counts.map((c, i) => (
            <g key={c.state} transform={`translate(0 ${i * 28})`}>
              <text x="0" y="18" className="bar-label">
                {t(stateKey(c.state))}
              </text>
              <rect x="110" y="5" height="18" width={Math.max(2, (c.n / max) * 170)} fill={VEHICLE_COLOURS[c.state]} rx="3" />
              <text x={116 + (c.n / max) * 170} y="19" className="bar-value">
                {i18n.number(c.n)}
              </text>
            </g>
          ))}
        </svg>
        <p className="muted">{t('fleet.total', { n: i18n.number(cars.length) })}</p>
      </Section>
      <Section title={t('fleet.alerts')} id="alerts-title">
        {alerts.length === 0 ? (
          <Empty>{t('fleet.noAlerts')}</Empty>
        ) : (
          <ul className="plain alerts">
            {alerts.map((a) => (
              <li key={`${a.car.id}-${a.kind}`} className={`alert-line alert-${a.kind}`}>
                <strong translate="no">{a.car.plate}</strong>{' '}
                {t(`fleet.alert.${a.kind}`, { pct: Math.round(a.car.socPct), at: i18n.dateTime(a.car.reportedAt) })}
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title={t('fleet.positions')} id="positions-title">
        <StationPlan stations={stationList} vehicles={cars} title={t('fleet.positions')} />
        <ul className="legend">
          {VEHICLE_STATES.map((s) => (
            <li key={s}>
              <span className="swatch" style={{ background: VEHICLE_COLOURS[s] }} aria-hidden="true" />
              {t(stateKey(s))}
            </li>
          ))}
        </ul>
      </Section>
      <NewVehicle stations={stationList} onCreated={vehicles.reload} />
      <Section title={t('fleet.cars')} id="cars-table-title">
        <ProblemBox error={action.error} />
        <DataTable
          rows={vehicles.data?.items}
          rowKey={(c) => c.id}
          caption={t('fleet.cars')}
          testId="fleet-table"
          rowData={(c) => ({ 'data-plate': c.plate })}
          columns={[
            { key: 'plate', header: t('col.plate'), data: true, render: (c) => c.plate },
            { key: 'model', header: t('col.model'), data: true, render: (c) => c.model },
            {
              key: 'state',
              header: t('col.state'),
              render: (c) => (
                <span className="tag" style={{ borderColor: VEHICLE_COLOURS[c.state] }}>
                  {t(stateKey(c.state))}
                </span>
              ),
            },
            { key: 'charge', header: t('col.charge'), render: (c) => <Charge pct={c.socPct} /> },
            { key: 'station', header: t('col.station'), data: true, render: (c) => stationName(c.stationId) },
            { key: 'reported', header: t('col.reported'), render: (c) => i18n.dateTime(c.reportedAt) },
            {
              key: 'actions',
              header: t('col.actions'),
              render: (c) => (
                <>
                  {c.state === 'available' && (
                    <button type="button" onClick={() => void setState(c, 'maintenance')} disabled={action.busy}>
                      {t('fleet.outOfService')}
                    </button>
                  )}
                  {(c.state === 'maintenance' || c.state === 'offline') && (
                    <button type="button" onClick={() => void setState(c, 'available')} disabled={action.busy}>
                      {t('fleet.inService')}
                    </button>
                  )}
                  {c.online && (
                    <button type="button" onClick={() => void command(c, 'lock')} disabled={action.busy} aria-label={`${t('fleet.lock')} ${c.plate}`}>
                      {t('fleet.lock')}
                    </button>
                  )}
                  {c.online && c.state !== 'reserved' && c.state !== 'in_use' && (
                    <button
                      type="button"
                      onClick={() => void command(c, 'immobilise')}
                      disabled={action.busy}
                      aria-label={`${t('fleet.immobilise')} ${c.plate}`}
                    >
                      {t('fleet.immobilise')}
                    </button>
                  )}
                </>
              ),
            },
          ]}
        />
      </Section>
    </div>
  );
}

function NewVehicle(props: { stations: Array<{ id: string; name: string }>; onCreated(): void }) {
  const { t } = useI18n();
  const [vin, setVin] = useState('');
  const [plate, setPlate] = useState('');
  const [model, setModel] = useState('');
  const [batteryKwh, setBattery] = useState('60');
  const [range, setRange] = useState('420');
  const [station, setStation] = useState('');
  const [inService, setInService] = useState('available');
  const [created, setCreated] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const home = station || props.stations[0]?.id || '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreated('');
    const car = await action.run(() =>
      api.createVehicle({
        vin: vin.trim().toUpperCase(),
        plate: plate.trim(),
        model: model.trim(),
        batteryKwh: Number(batteryKwh),
        ratedRangeKm: Number(range),
        homeStationId: home,
        state: inService as 'available' | 'maintenance',
      }),
    );
    if (car) {
      setCreated(car.plate);
      setVin('');
      setPlate('');
      props.onCreated();
    }
  };
  return (
    <Section title={t('fleet.newCar')} id="new-car-title">
      <form onSubmit={submit} className="form-grid">
        <Field label={t('field.vin')} name="vin" value={vin} onChange={setVin} error={errors.vin} required />
        <Field label={t('field.plate')} name="plate" value={plate} onChange={setPlate} error={errors.plate} required />
        <Field label={t('field.model')} name="model" value={model} onChange={setModel} error={errors.model} required />
        <Field
          label={t('field.batteryKwh')}
          name="batteryKwh"
          inputMode="decimal"
          value={batteryKwh}
          onChange={setBattery}
          error={errors.batteryKwh}
          required
        />
        <Field label={t('field.ratedRangeKm')} name="ratedRangeKm" inputMode="numeric" value={range} onChange={setRange} error={errors.ratedRangeKm} required />
        <Field
          label={t('field.homeStationId')}
          name="homeStationId"
          value={home}
          onChange={setStation}
          options={props.stations.map((s) => ({ value: s.id, label: s.name }))}
          error={errors.homeStationId}
        />
        <Field
          label={t('field.initialState')}
          name="state"
          value={inService}
          onChange={setInService}
          options={[
            { value: 'available', label: t('vehicleState.available') },
            { value: 'maintenance', label: t('vehicleState.maintenance') },
          ]}
        />
        <button type="submit" className="primary" disabled={action.busy}>
          {t('fleet.publishCar')}
        </button>
      </form>
      <ProblemBox error={action.error} />
      {created && (
        <p className="alert alert-ok" role="status">
          {t('fleet.carPublished')} <span translate="no">{created}</span>
        </p>
      )}
    </Section>
  );
}
