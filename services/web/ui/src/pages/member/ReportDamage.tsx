import { useState } from 'react';
import type { DamageReport } from '@evshare/api/schemas';
import { api } from '../../api/client';
import { Field, ProblemBox, useAction, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';

const PHOTO_ACCEPT = 'image/jpeg,image/png,image/webp';
// The UI takes only types from the API package; the list is checked against the report's type.
const LOCATIONS = ['front', 'rear', 'left', 'right', 'roof', 'interior', 'wheels', 'other'] as const satisfies ReadonlyArray<
  NonNullable<DamageReport['location']>
>;

/** A report's photos as small links to the full image (the session cookie authorises them). */
export function ReportPhotos(props: { report: Pick<DamageReport, 'photos'> }) {
  const { t } = useI18n();
  if (props.report.photos.length === 0) return <span className="muted">{t('report.noPhotos')}</span>;
  return (
    <span className="row report-photos">
      {props.report.photos.map((photo, i) => (
        <a key={photo.id} href={photo.url} target="_blank" rel="noreferrer">
          <img src={photo.url} alt={t('report.photoN', { n: i + 1 })} width={72} height={72} loading="lazy" />
        </a>
      ))}
    </span>
  );
}

/**
 * "Report damage": before driving off (the car as found) and at the return, the renting member
 * reports damage or dirt with a note, where on the car, and photos (docs/rental.md).
 */
export function ReportDamage(props: { rentalId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<'damage' | 'dirt'>('damage');
  const [location, setLocation] = useState('');
  const [note, setNote] = useState('');
  const [photos, setPhotos] = useState<File[]>([]);
  const [sent, setSent] = useState(0);
  const action = useAction();
  const reports = useLoad(() => api.reports(props.rentalId), [props.rentalId, sent]);

  // A report made whose photos did not all go: sending again adds the photos to it, not a second report.
  const [draft, setDraft] = useState<DamageReport>();

  const submit = async () => {
    const done = await action.run(async () => {
      const report = draft ?? (await api.report({ rentalId: props.rentalId, kind, note, ...(location ? { location } : {}) }));
      setDraft(report);
      // One photo at a time: a refused photo (not an image, too large) names itself; those before it are kept.
      for (const [i, photo] of photos.entries()) {
        await api.addReportPhoto(report.id, photo);
        setPhotos(photos.slice(i + 1));
      }
      return report;
    });
    setSent((n) => n + 1);
    if (done) {
      setDraft(undefined);
      setNote('');
      setPhotos([]);
      setOpen(false);
    }
  };

  return (
    <div className="report-damage" data-testid="report-damage">
      <h3>{t('report.title')}</h3>
      <p className="hint">{t('report.hint')}</p>
      {(reports.data?.items ?? []).length > 0 && (
        <ul className="report-list">
          {reports.data!.items.map((r) => (
            <li key={r.id}>
              <strong>{t(`reportKind.${r.kind}` as MessageKey)}</strong> · {t(`reportPhase.${r.phase}` as MessageKey)}
              {r.location ? ` · ${t(`reportLocation.${r.location}` as MessageKey)}` : ''} · {i18n.dateTime(r.createdAt)}
              <div>{r.note}</div>
              <ReportPhotos report={r} />
            </li>
          ))}
        </ul>
      )}
      {open ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <div className="form-row">
            <Field
              label={t('report.kind')}
              name="reportKind"
              value={kind}
              onChange={(v) => setKind(v === 'dirt' ? 'dirt' : 'damage')}
              options={[
                { value: 'damage', label: t('reportKind.damage') },
                { value: 'dirt', label: t('reportKind.dirt') },
              ]}
            />
            <Field
              label={t('report.location')}
              name="reportLocation"
              value={location}
              onChange={setLocation}
              options={[{ value: '', label: '—' }, ...LOCATIONS.map((l) => ({ value: l, label: t(`reportLocation.${l}` as MessageKey) }))]}
            />
          </div>
          <Field label={t('report.note')} name="reportNote" value={note} onChange={setNote} required />
          <div className="field">
            <label htmlFor="report-photos">{t('report.photos')}</label>
            <input
              id="report-photos"
              name="reportPhotos"
              type="file"
              accept={PHOTO_ACCEPT}
              capture="environment"
              multiple
              onChange={(e) => setPhotos([...(e.target.files ?? [])])}
            />
            <p className="hint">{t('report.photosHint')}</p>
          </div>
          <div className="row">
            <button type="submit" className="primary" disabled={action.busy || note.trim() === ''}>
              {action.busy ? t('report.sending') : t('report.send')}
            </button>
            <button type="button" onClick={() => setOpen(false)} disabled={action.busy}>
              {t('report.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <button type="button" onClick={() => setOpen(true)}>
          {t('report.open')}
        </button>
      )}
      <ProblemBox error={action.error ?? reports.error} />
    </div>
  );
}
