import { useState } from 'react';
import { api } from '../../api/client';
import { Empty, ProblemBox, Section, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { useApp } from '../../state';
import { Bill } from './Trip';

export function rentalStatusKey(status: string): MessageKey {
  return (['unlocking', 'active', 'ended', 'failed'].includes(status) ? `rentalStatus.${status}` : 'rentalStatus.other') as MessageKey;
}

/** My rentals, each with its receipt (the fee breakdown). */
export function HistoryPage() {
  const { t, money, dateTime, duration } = useI18n();
  const app = useApp();
  const rentals = useLoad(() => api.rentals(), [app.version]);
  const stations = useLoad(() => api.stations(), []);
  const [open, setOpen] = useState<string>();
  const stationName = (id: string | null) => stations.data?.items.find((s) => s.id === id)?.name ?? '—';
  const items = rentals.data?.items ?? [];
  return (
    <Section title={t('history.title')} id="history-title">
      <ProblemBox error={rentals.error} />
      {rentals.data && items.length === 0 && <Empty>{t('history.none')}</Empty>}
      <ul className="history">
        {items.map((r) => (
          <li key={r.id} className="history-item" data-rental={r.id}>
            <button type="button" className="history-head" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? undefined : r.id)}>
              <span>{dateTime(r.startedAt)}</span>
              <span translate="no">
                {stationName(r.startStationId)} → {r.endStationId ? stationName(r.endStationId) : '…'}
              </span>
              <span className="tag">{t(rentalStatusKey(r.status))}</span>
              <strong>{r.totalFen === null ? '—' : money(r.totalFen)}</strong>
            </button>
            {open === r.id && (
              <div className="receipt">
                <h3>{t('history.receipt')}</h3>
                <dl className="facts">
                  <dt>{t('trip.startedAt')}</dt>
                  <dd>{dateTime(r.startedAt)}</dd>
                  <dt>{t('history.endedAt')}</dt>
                  <dd>{dateTime(r.endedAt)}</dd>
                  {r.endedAt && (
                    <>
                      <dt>{t('trip.elapsed')}</dt>
                      <dd>{duration(Date.parse(r.endedAt) - Date.parse(r.startedAt))}</dd>
                    </>
                  )}
                </dl>
                {r.price && <Bill price={r.price} />}
              </div>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}
