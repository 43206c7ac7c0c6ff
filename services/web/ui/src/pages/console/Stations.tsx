import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { Station } from '@evshare/api/schemas';
import { StationPlan } from '../../components/StationPlan';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useAction, useFieldErrors, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';

type Draft = { name: string; lat: string; lng: string; geofenceRadiusM: string; capacity: string; returnPolicy: 'open' | 'round-trip' };
const EMPTY: Draft = { name: '', lat: '31.23', lng: '121.47', geofenceRadiusM: '150', capacity: '10', returnPolicy: 'open' };

/** Publish and edit stations. */
export function ConsoleStationsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const stations = useLoad(() => api.stations(), []);
  const [editing, setEditing] = useState<Station>();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [saved, setSaved] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const set = (key: keyof Draft) => (value: string) => setDraft({ ...draft, [key]: value });
  const edit = (s: Station) => {
    setEditing(s);
    setSaved('');
    setDraft({
      name: s.name,
      lat: String(s.lat),
      lng: String(s.lng),
      geofenceRadiusM: String(s.geofenceRadiusM),
      capacity: String(s.capacity),
      returnPolicy: s.returnPolicy,
    });
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = {
      name: draft.name.trim(),
      lat: Number(draft.lat),
      lng: Number(draft.lng),
      geofenceRadiusM: Number(draft.geofenceRadiusM),
      capacity: Number(draft.capacity),
      returnPolicy: draft.returnPolicy,
    };
    const result = await action.run(() => (editing ? api.updateStation(editing.id, body) : api.createStation(body)));
    if (result) {
      setSaved(result.name);
      setEditing(undefined);
      setDraft(EMPTY);
      stations.reload();
    }
  };
  const list = stations.data?.items ?? [];
  return (
    <div className="grid">
      <Section title={t('consoleStations.plan')} id="cs-plan-title">
        <StationPlan stations={list} selected={editing?.id} onSelect={(id) => edit(list.find((s) => s.id === id)!)} title={t('consoleStations.plan')} />
      </Section>
      <Section title={editing ? t('consoleStations.edit') : t('consoleStations.new')} id="cs-form-title">
        <form onSubmit={submit} className="form-grid">
          <Field label={t('field.name')} name="name" value={draft.name} onChange={set('name')} error={errors.name} required />
          <Field label={t('field.lat')} name="lat" inputMode="decimal" value={draft.lat} onChange={set('lat')} error={errors.lat} required />
          <Field label={t('field.lng')} name="lng" inputMode="decimal" value={draft.lng} onChange={set('lng')} error={errors.lng} required />
          <Field
            label={t('field.geofenceRadiusM')}
            name="geofenceRadiusM"
            inputMode="numeric"
            value={draft.geofenceRadiusM}
            onChange={set('geofenceRadiusM')}
            error={errors.geofenceRadiusM}
            required
          />
          <Field
            label={t('field.capacity')}
            name="capacity"
            inputMode="numeric"
            value={draft.capacity}
            onChange={set('capacity')}
            error={errors.capacity}
            required
          />
          <Field
            label={t('field.returnPolicy')}
            name="returnPolicy"
            value={draft.returnPolicy}
            onChange={set('returnPolicy')}
            options={[
              { value: 'open', label: t('stations.policyOpen') },
              { value: 'round-trip', label: t('stations.policyRoundTrip') },
            ]}
          />
          <div className="row">
            <button type="submit" className="primary" disabled={action.busy}>
              {editing ? t('action.save') : t('consoleStations.publish')}
            </button>
            {editing && (
              <button
                type="button"
                onClick={() => {
                  setEditing(undefined);
                  setDraft(EMPTY);
                }}
              >
                {t('action.cancel')}
              </button>
            )}
          </div>
        </form>
        <ProblemBox error={action.error} />
        {saved && (
          <p className="alert alert-ok" role="status">
            {t('action.saved')} <span translate="no">{saved}</span>
          </p>
        )}
      </Section>
      <Section title={t('consoleStations.list')} id="cs-list-title">
        <DataTable
          rows={stations.data?.items}
          rowKey={(s) => s.id}
          caption={t('consoleStations.list')}
          columns={[
            { key: 'name', header: t('field.name'), data: true, render: (s) => s.name },
            { key: 'cars', header: t('col.cars'), className: 'num', render: (s) => i18n.number(s.availableCars) },
            { key: 'free', header: t('col.free'), className: 'num', render: (s) => i18n.number(s.freeParking) },
            { key: 'capacity', header: t('field.capacity'), className: 'num', render: (s) => i18n.number(s.capacity) },
            {
              key: 'policy',
              header: t('field.returnPolicy'),
              render: (s) => (s.returnPolicy === 'open' ? t('stations.policyOpen') : t('stations.policyRoundTrip')),
            },
            {
              key: 'actions',
              header: t('col.actions'),
              render: (s) => (
                <button type="button" onClick={() => edit(s)}>
                  {t('action.edit')}
                </button>
              ),
            },
          ]}
        />
      </Section>
    </div>
  );
}
