import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { AmbientSource } from '@evshare/api/schemas';
import { Field, ProblemBox, Section, useAction, useFieldErrors, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';

/** A secret the API answers once: shown until the operator leaves the page, never again. */
function OnceSecret(props: { label: string; subject: string; secret: string | undefined }) {
  const { t } = useI18n();
  if (!props.secret) return null;
  return (
    <div className="notice" role="status">
      <p>
        {props.label} <code translate="no">{props.subject}</code>
      </p>
      <p>
        <code translate="no" className="secret">
          {props.secret}
        </code>
      </p>
      <small className="hint">{t('onboarding.shownOnce')}</small>
    </div>
  );
}

/** kW as typed (decimal comma accepted) to whole watts; NaN stays NaN so the API names the field. */
const watts = (kw: string) => Math.round(Number(kw.replace(',', '.')) * 1000);

/** Operators onboard charging piles and car terminals, and set each station's charging limits. */
export function OnboardingPage() {
  const { t } = useI18n();
  const stations = useLoad(() => api.stations(), []);
  const stationOptions = (stations.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }));
  return (
    <div className="grid">
      <ProblemBox error={stations.error} />
      <PileForm stationOptions={stationOptions} />
      <StationChargingForm stationOptions={stationOptions} />
      <CarCredentialForm />
      <p className="hint card-wide">{t('onboarding.intro')}</p>
    </div>
  );
}

function PileForm(props: { stationOptions: Array<{ value: string; label: string }> }) {
  const { t } = useI18n();
  const [id, setId] = useState('');
  const [stationId, setStationId] = useState('');
  const [powerKw, setPowerKw] = useState('7');
  const [shown, setShown] = useState<{ id: string; password: string }>();
  const register = useAction();
  const rotate = useAction();
  const errors = useFieldErrors(register.error);
  const station = stationId || props.stationOptions[0]?.value || '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await register.run(() => api.registerPile({ id: id.trim(), stationId: station, maxPowerW: watts(powerKw) }));
    if (result) {
      setShown({ id: result.id, password: result.password });
      setId('');
    }
  };
  const [rotateId, setRotateId] = useState('');
  const rotateErrors = useFieldErrors(rotate.error);
  const submitRotate = async (event: FormEvent) => {
    event.preventDefault();
    const result = await rotate.run(() => api.rotatePilePassword(rotateId.trim()));
    if (result) setShown(result);
  };
  return (
    <Section title={t('onboarding.pileTitle')} id="onboarding-pile-title">
      <form onSubmit={submit} className="form-grid" aria-labelledby="onboarding-pile-title">
        <Field label={t('field.pileId')} name="id" value={id} onChange={setId} error={errors.id} hint={t('onboarding.pileIdHint')} required />
        <Field label={t('field.stationId')} name="stationId" value={station} onChange={setStationId} error={errors.stationId} options={props.stationOptions} />
        <Field label={t('field.maxPowerKw')} name="maxPowerKw" inputMode="decimal" value={powerKw} onChange={setPowerKw} error={errors.maxPowerW} required />
        <button type="submit" disabled={register.busy || !station}>
          {t('onboarding.register')}
        </button>
      </form>
      <ProblemBox error={register.error} />
      <form onSubmit={submitRotate} className="form-row">
        <Field label={t('onboarding.rotatePile')} name="rotateId" value={rotateId} onChange={setRotateId} error={rotateErrors.id} required />
        <button type="submit" disabled={rotate.busy}>
          {t('onboarding.rotate')}
        </button>
      </form>
      <ProblemBox error={rotate.error} />
      <OnceSecret label={t('onboarding.pilePassword')} subject={shown?.id ?? ''} secret={shown?.password} />
    </Section>
  );
}

type AmbientKind = AmbientSource['source'];

function StationChargingForm(props: { stationOptions: Array<{ value: string; label: string }> }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [stationId, setStationId] = useState('');
  const station = stationId || props.stationOptions[0]?.value || '';
  const current = useLoad(async () => (station ? api.stationCharging(station) : undefined), [station]);
  const [capKw, setCapKw] = useState('');
  const [kind, setKind] = useState<AmbientKind>('default');
  const [celsius, setCelsius] = useState('');
  const [url, setUrl] = useState('');
  const save = useAction();
  const errors = useFieldErrors(save.error);
  const [saved, setSaved] = useState(false);
  // Each load of the station's settings (another station, or after a save) fills the form with them.
  const [filledFrom, setFilledFrom] = useState(current.data);
  if (current.data !== filledFrom) {
    const loaded = current.data;
    setFilledFrom(loaded);
    if (loaded) {
      setCapKw(loaded.chargingCapW === null ? '' : String(loaded.chargingCapW / 1000));
      setKind(loaded.ambientFeedUrl ? 'feed' : loaded.ambientC !== null ? 'value' : 'default');
      setCelsius(loaded.ambientC === null ? '' : String(loaded.ambientC));
      setUrl(loaded.ambientFeedUrl ?? '');
    }
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const ambient: AmbientSource =
      kind === 'value'
        ? { source: 'value', celsius: Number(celsius.replace(',', '.')) }
        : kind === 'feed'
          ? { source: 'feed', url: url.trim() }
          : { source: 'default' };
    const result = await save.run(() => api.setStationCharging(station, { chargingCapW: capKw.trim() === '' ? null : watts(capKw), ambient }));
    if (result) {
      setSaved(true);
      current.reload();
    }
  };
  const c = current.data;
  return (
    <Section title={t('onboarding.stationTitle')} id="onboarding-station-title">
      <form onSubmit={submit} className="form-grid" aria-labelledby="onboarding-station-title">
        <Field label={t('field.stationId')} name="chargingStation" value={station} onChange={setStationId} options={props.stationOptions} />
        <Field
          label={t('field.chargingCapKw')}
          name="chargingCapKw"
          inputMode="decimal"
          value={capKw}
          onChange={setCapKw}
          error={errors.chargingCapW}
          hint={t('onboarding.capHint')}
        />
        <Field
          label={t('field.ambientSource')}
          name="ambientSource"
          value={kind}
          onChange={(v) => setKind(v as AmbientKind)}
          error={errors['ambient.source'] ?? errors.ambient}
          options={[
            { value: 'default', label: t('onboarding.ambientDefault') },
            { value: 'value', label: t('onboarding.ambientValue') },
            { value: 'feed', label: t('onboarding.ambientFeed') },
          ]}
        />
        {kind === 'value' && (
          <Field
            label={t('field.celsius')}
            name="celsius"
            inputMode="decimal"
            value={celsius}
            onChange={setCelsius}
            error={errors['ambient.celsius']}
            required
          />
        )}
        {kind === 'feed' && (
          <Field
            label={t('field.url')}
            name="url"
            type="url"
            value={url}
            onChange={setUrl}
            error={errors['ambient.url']}
            hint={t('onboarding.feedHint')}
            required
          />
        )}
        <button type="submit" disabled={save.busy || !station}>
          {t('onboarding.save')}
        </button>
      </form>
      <ProblemBox error={save.error ?? current.error} />
      {saved && <p role="status">{t('onboarding.saved')}</p>}
      {c && (
        <p className="hint" data-testid="station-charging-now">
          {c.ambientC === null
            ? t('onboarding.nowDefault')
            : t('onboarding.nowAmbient', { celsius: i18n.number(c.ambientC, 1), at: c.ambientUpdatedAt ? i18n.dateTime(c.ambientUpdatedAt) : '—' })}
        </p>
      )}
    </Section>
  );
}

function CarCredentialForm() {
  const { t } = useI18n();
  const vehicles = useLoad(() => api.vehicles(), []);
  const [vehicleId, setVehicleId] = useState('');
  const [shown, setShown] = useState<{ vin: string; secret: string }>();
  const issue = useAction();
  const options = (vehicles.data?.items ?? []).map((v) => ({ value: v.id, label: `${v.plate} · ${v.vin}` }));
  const car = vehicleId || options[0]?.value || '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await issue.run(() => api.issueVehicleCredential(car));
    if (result) setShown(result);
  };
  return (
    <Section title={t('onboarding.carTitle')} id="onboarding-car-title">
      <form onSubmit={submit} className="form-row" aria-labelledby="onboarding-car-title">
        <Field label={t('field.vehicleId')} name="credentialVehicle" value={car} onChange={setVehicleId} options={options} />
        <button type="submit" disabled={issue.busy || !car}>
          {t('onboarding.issue')}
        </button>
      </form>
      <small className="hint">{t('onboarding.issueHint')}</small>
      <ProblemBox error={issue.error ?? vehicles.error} />
      <OnceSecret label={t('onboarding.carSecret')} subject={shown?.vin ?? ''} secret={shown?.secret} />
    </Section>
  );
}
