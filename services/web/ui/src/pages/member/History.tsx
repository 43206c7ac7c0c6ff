import { useState } from 'react';
import { api } from '../../api/client';
import type { Reservation } from '@evshare/api/schemas';
import { DataTable } from '../../components/DataTable';
import { Empty, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { useApp } from '../../state';
import { Bill } from './Trip';

export function rentalStatusKey(status: string): MessageKey {
  return (['unlocking', 'active', 'ended', 'failed'].includes(status) ? `rentalStatus.${status}` : 'rentalStatus.other') as MessageKey;
}

export const reservationStatusKey = (s: string): MessageKey =>
  (['active', 'converted', 'cancelled', 'expired'].includes(s) ? `reservationStatus.${s}` : 'rentalStatus.other') as MessageKey;

/** My rentals, each with its receipt (the fee breakdown); my reservations. */
export function HistoryPage() {
  return (
    <div className="grid">
      <RentalHistory />
      <ReservationHistory />
    </div>
  );
}

function RentalHistory() {
  const i18n = useI18n();
  const { t } = i18n;
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
              <span>{i18n.dateTime(r.startedAt)}</span>
              <span translate="no">
                {stationName(r.startStationId)} → {r.endStationId ? stationName(r.endStationId) : '…'}
              </span>
              <span className="tag">{t(rentalStatusKey(r.status))}</span>
              <strong>{r.totalFen === null ? '—' : i18n.money(r.totalFen)}</strong>
            </button>
            {open === r.id && (
              <div className="receipt">
                <h3>{t('history.receipt')}</h3>
                <dl className="facts">
                  <dt>{t('trip.startedAt')}</dt>
                  <dd>{i18n.dateTime(r.startedAt)}</dd>
                  <dt>{t('history.endedAt')}</dt>
                  <dd>{i18n.dateTime(r.endedAt)}</dd>
                  {r.endedAt && (
                    <>
                      <dt>{t('trip.elapsed')}</dt>
                      <dd>{i18n.duration(Date.parse(r.endedAt) - Date.parse(r.startedAt))}</dd>
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

/** Every reservation of mine, newest first; older pages on request (the API's `next` cursor). */
function ReservationHistory() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const latest = useLoad(() => api.reservations(), [app.version]);
  const stations = useLoad(() => api.stations(), []);
  const [older, setOlder] = useState<{ items: Reservation[]; next?: string }>();
  const more = useAction();
  const stationName = (id: string) => stations.data?.items.find((s) => s.id === id)?.name ?? '—';
  const next = older ? older.next : latest.data?.next;
  const seen = new Set(latest.data?.items.map((r) => r.id));
  const rows = latest.data && [...latest.data.items, ...(older?.items ?? []).filter((r) => !seen.has(r.id))];
  const loadOlder = async () => {
    const page = next && (await more.run(() => api.reservations(next)));
    if (page) setOlder({ items: [...(older?.items ?? []), ...page.items], next: page.next });
  };
  return (
    <Section title={t('history.reservations')} id="reservation-history-title">
      <ProblemBox error={latest.error ?? more.error} />
      <DataTable
        rows={rows}
        rowKey={(r) => r.id}
        empty={t('history.noReservations')}
        caption={t('history.reservations')}
        testId="reservations"
        rowData={(r) => ({ 'data-status': r.status })}
        columns={[
          { key: 'time', header: t('col.time'), render: (r) => i18n.dateTime(r.createdAt) },
          { key: 'station', header: t('col.station'), data: true, render: (r) => stationName(r.stationId) },
          { key: 'status', header: t('col.status'), render: (r) => t(reservationStatusKey(r.status)) },
          { key: 'until', header: t('history.heldUntil'), render: (r) => i18n.dateTime(r.expiresAt) },
          { key: 'fee', header: t('history.feeCharged'), className: 'num', render: (r) => (r.status === 'expired' ? i18n.money(r.feeFen) : '—') },
        ]}
      />
      {next && (
        <button type="button" onClick={() => void loadOlder()} disabled={more.busy}>
          {t('history.more')}
        </button>
      )}
    </Section>
  );
}
