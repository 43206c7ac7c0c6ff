import { useState } from 'react';
import { api } from '../../api/client';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';
import { rentalStatusKey, reservationStatusKey } from '../member/History';
import { useTicker } from './Fleet';

/** Reservations and rentals across the fleet, filtered by status, refreshed live. */
export function RentalsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const tick = useTicker(5_000);
  const [rentalStatus, setRentalStatus] = useState('');
  const [reservationStatus, setReservationStatus] = useState('');
  const rentals = useLoad(() => api.adminRentals(rentalStatus || undefined), [rentalStatus, tick]);
  const reservations = useLoad(() => api.adminReservations(reservationStatus || undefined), [reservationStatus, tick]);
  const vehicles = useLoad(() => api.vehicles(), [tick]);
  const stations = useLoad(() => api.stations(), []);
  const plate = (id: string) => vehicles.data?.items.find((v) => v.id === id)?.plate ?? id.slice(0, 8);
  const station = (id: string | null) => stations.data?.items.find((s) => s.id === id)?.name ?? '—';
  return (
    <div className="grid">
      <Section title={t('rentals.rentals')} id="rentals-title">
        <Field
          label={t('col.status')}
          name="rentalStatus"
          value={rentalStatus}
          onChange={setRentalStatus}
          options={[
            { value: '', label: t('rentals.all') },
            ...['unlocking', 'active', 'ended', 'failed'].map((s) => ({ value: s, label: t(rentalStatusKey(s)) })),
          ]}
        />
        <ProblemBox error={rentals.error} />
        <DataTable
          rows={rentals.data?.items}
          rowKey={(r) => r.id}
          caption={t('rentals.rentals')}
          columns={[
            { key: 'started', header: t('trip.startedAt'), render: (r) => i18n.dateTime(r.startedAt) },
            { key: 'plate', header: t('col.plate'), data: true, render: (r) => plate(r.vehicleId) },
            {
              key: 'route',
              header: t('col.route'),
              data: true,
              render: (r) => `${station(r.startStationId)} → ${r.endStationId ? station(r.endStationId) : '…'}`,
            },
            { key: 'status', header: t('col.status'), render: (r) => t(rentalStatusKey(r.status)) },
            { key: 'amount', header: t('col.amount'), className: 'num', render: (r) => (r.totalFen === null ? '—' : i18n.money(r.totalFen)) },
          ]}
        />
      </Section>
      <Section title={t('rentals.reservations')} id="reservations-title">
        <Field
          label={t('col.status')}
          name="reservationStatus"
          value={reservationStatus}
          onChange={setReservationStatus}
          options={[
            { value: '', label: t('rentals.all') },
            ...['active', 'converted', 'cancelled', 'expired'].map((s) => ({ value: s, label: t(reservationStatusKey(s)) })),
          ]}
        />
        <ProblemBox error={reservations.error} />
        <DataTable
          rows={reservations.data?.items}
          rowKey={(r) => r.id}
          caption={t('rentals.reservations')}
          columns={[
            { key: 'time', header: t('col.time'), render: (r) => i18n.dateTime(r.createdAt) },
            { key: 'plate', header: t('col.plate'), data: true, render: (r) => plate(r.vehicleId) },
            { key: 'station', header: t('col.station'), data: true, render: (r) => station(r.stationId) },
            { key: 'status', header: t('col.status'), render: (r) => t(reservationStatusKey(r.status)) },
            { key: 'expires', header: t('trip.expiresAt'), render: (r) => i18n.dateTime(r.expiresAt) },
          ]}
        />
      </Section>
    </div>
  );
}
