import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Empty, Field, ProblemBox, Section, useAction, useFieldErrors, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';

export const pileStateKey = (s: string): MessageKey =>
  (['available', 'occupied', 'charging', 'faulted', 'unavailable', 'offline'].includes(s) ? `pileState.${s}` : 'pileState.offline') as MessageKey;
export const chargingStatusKey = (s: string): MessageKey =>
  (['booked', 'reserved', 'charging', 'completed', 'cancelled', 'expired', 'failed', 'active'].includes(s)
    ? `chargingStatus.${s}`
    : 'chargingStatus.other') as MessageKey;

/** `datetime-local` value (the member's local time) an hour from now, rounded to the quarter. */
function localInput(offsetMs: number): string {
  const d = new Date(Math.ceil((Date.now() + offsetMs) / 900_000) * 900_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');

/** Reserved charging: book a pile slot, see and cancel bookings, and past charging sessions. */
export function ChargingPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const piles = useLoad(() => api.piles(), []);
  const bookings = useLoad(() => api.chargingReservations(), []);
  const sessions = useLoad(() => api.chargingSessions(), []);
  const [pileId, setPileId] = useState('');
  const [start, setStart] = useState(localInput(3_600_000));
  const [end, setEnd] = useState(localInput(3 * 3_600_000));
  const [kwh, setKwh] = useState('20');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const usable = (piles.data?.items ?? []).filter((p) => p.enabled);
  const chosen = pileId || usable[0]?.id || '';
  const book = async (event: FormEvent) => {
    event.preventDefault();
    const energyWh = Math.round(Number(kwh) * 1000);
    if (await action.run(() => api.bookCharging({ pileId: chosen, slotStart: toIso(start), slotEnd: toIso(end), ...(kwh.trim() ? { energyWh } : {}) })))
      bookings.reload();
  };
  const cancel = async (id: string) => {
    if (await action.run(() => api.cancelCharging(id))) bookings.reload();
  };
  return (
    <div className="grid">
      <ProblemBox error={piles.error} />
      <Section title={t('charging.piles')} id="piles-title">
        {piles.data && piles.data.items.length === 0 && <Empty>{t('charging.noPiles')}</Empty>}
        <ul className="plain">
          {(piles.data?.items ?? []).map((p) => (
            <li key={p.id} className="row">
              <code translate="no">{p.id}</code>
              <span translate="no">{p.stationName}</span>
              <span className={`tag tag-pile-${p.state}`}>{t(pileStateKey(p.state))}</span>
              {p.maxPowerW !== null && <span className="muted">{t('charging.maxPower', { kw: i18n.number(p.maxPowerW / 1000, 1) })}</span>}
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t('charging.book')} id="book-title">
        <form onSubmit={book} className="form-grid">
          <Field
            label={t('field.pileId')}
            name="pileId"
            value={chosen}
            onChange={setPileId}
            options={usable.map((p) => ({ value: p.id, label: `${p.id} · ${p.stationName}` }))}
            error={errors.pileId}
          />
          <Field label={t('field.slotStart')} name="slotStart" type="datetime-local" value={start} onChange={setStart} error={errors.slotStart} required />
          <Field label={t('field.slotEnd')} name="slotEnd" type="datetime-local" value={end} onChange={setEnd} error={errors.slotEnd} required />
          <Field label={t('field.energyKwh')} name="energyWh" inputMode="decimal" value={kwh} onChange={setKwh} error={errors.energyWh} />
          <button type="submit" className="primary" disabled={action.busy || !chosen}>
            {t('charging.bookSubmit')}
          </button>
        </form>
        <ProblemBox error={action.error} />
      </Section>
      <Section title={t('charging.bookings')} id="bookings-title">
        {bookings.data && bookings.data.items.length === 0 && <Empty>{t('charging.noBookings')}</Empty>}
        <ul className="plain">
          {(bookings.data?.items ?? []).map((b) => (
            <li key={b.id} className="row">
              <code translate="no">{b.pileId}</code>
              <span>
                {i18n.dateTime(b.slotStart)} – {i18n.dateTime(b.slotEnd)}
              </span>
              <span className="tag">{t(chargingStatusKey(b.status))}</span>
              {(b.status === 'booked' || b.status === 'reserved') && (
                <button type="button" onClick={() => void cancel(b.id)} disabled={action.busy}>
                  {t('action.cancel')}
                </button>
              )}
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t('charging.sessions')} id="sessions-title">
        {sessions.data && sessions.data.items.length === 0 && <Empty>{t('charging.noSessions')}</Empty>}
        <ul className="plain">
          {(sessions.data?.items ?? []).map((s) => (
            <li key={s.id}>
              {i18n.dateTime(s.startedAt)} · <code translate="no">{s.pileId}</code> · {t('charging.energy', { kwh: i18n.number((s.energyWh ?? 0) / 1000, 2) })}{' '}
              · {s.amountFen === null ? '—' : i18n.money(s.amountFen)} · {t(chargingStatusKey(s.status))}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}
