import { useState } from 'react';
import { api, type CarAction } from '../../api/client';
import type { FeeBreakdown, Rental } from '@evshare/api/schemas';
import { Link } from '../../components/Link';
import { refusalKey } from '../../components/problems';
import { Countdown, Empty, Field, ProblemBox, Section, useAction, useLoad, useNow } from '../../components/ui';
import { useI18n } from '../../i18n';
import { useApp } from '../../state';
import { ReportDamage } from './ReportDamage';

/** The bill's lines: time, distance, one-way fee, total. */
export function Bill(props: { price: FeeBreakdown; totalLabel?: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const p = props.price;
  return (
    <dl className="facts bill">
      <dt>{t('bill.time', { m: i18n.number(p.minutes) })}</dt>
      <dd>{i18n.money(p.timeFen)}</dd>
      <dt>{t('bill.distance', { km: i18n.number(p.distanceM / 1000, 1) })}</dt>
      <dd>{i18n.money(p.distanceFen)}</dd>
      {p.oneWayFen > 0 && (
        <>
          <dt>{t('bill.oneWay')}</dt>
          <dd>{i18n.money(p.oneWayFen)}</dd>
        </>
      )}
      {p.capApplied && (
        <>
          <dt>{t('bill.capApplied')}</dt>
          <dd>✓</dd>
        </>
      )}
      {p.minimumApplied && (
        <>
          <dt>{t('bill.minimumApplied')}</dt>
          <dd>✓</dd>
        </>
      )}
      <dt className="total">{props.totalLabel ?? t('bill.total')}</dt>
      <dd className="total" data-testid="bill-total">
        {i18n.money(p.totalFen)}
      </dd>
    </dl>
  );
}

/** The member's current reservation (hold countdown) or rental (return with the fee first). */
export function TripPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const reservation = app.sync?.reservation ?? null;
  const rental = app.sync?.rental ?? null;
  const stations = useLoad(() => api.stations(), [app.version]);
  const stationName = (id: string | null | undefined) => stations.data?.items.find((s) => s.id === id)?.name ?? '—';
  const [ended, setEnded] = useState<Rental>();
  // The station the member picked to return to; until they pick one, the rental's start station.
  const [pickedReturn, setReturnAt] = useState('');
  const returnAt = pickedReturn || rental?.startStationId || '';
  const action = useAction();
  const control = useAction();
  const [controlled, setControlled] = useState<CarAction>();
  const carName = (id: string) => app.vehicles.get(id)?.plate ?? '';

  const now = useNow(5_000);
  // The car's reports change the quote (it parks, its doors close) without a change of the member's
  // own state, so the quote follows the clock and the car control as well.
  const quote = useLoad(async () => (rental && returnAt ? api.quote(rental.id, returnAt) : undefined), [rental?.id, returnAt, app.version, now, controlled]);

  if (!app.sync) return <p className="loading">{t('app.loading')}</p>;

  const rentReserved = async () => {
    if (reservation && (await action.run(() => api.rent({ reservationId: reservation.id })))) app.refresh();
  };
  const cancel = async () => {
    if (reservation && (await action.run(() => api.cancelReservation(reservation.id)))) app.refresh();
  };
  const command = async (what: CarAction) => {
    if (!rental) return;
    setControlled(undefined);
    if (await control.run(() => api.commandRentedCar(rental.id, what))) setControlled(what);
  };
  const doReturn = async () => {
    if (!rental) return;
    const done = await action.run(() => api.returnCar(rental.id, returnAt));
    if (done) {
      setEnded(done);
      setReturnAt('');
      app.refresh();
    }
  };

  return (
    <div className="grid">
      <ProblemBox error={action.error} />
      {reservation && (
        <Section title={t('trip.reservation')} id="reservation-title">
          <p className="big">
            {t('trip.holdFor')} <Countdown until={reservation.expiresAt} />
          </p>
          <dl className="facts">
            <dt>{t('trip.car')}</dt>
            <dd translate="no">{carName(reservation.vehicleId) || '—'}</dd>
            <dt>{t('trip.station')}</dt>
            <dd translate="no">{stationName(reservation.stationId)}</dd>
            <dt>{t('trip.expiresAt')}</dt>
            <dd>{i18n.dateTime(reservation.expiresAt)}</dd>
          </dl>
          <p className="hint">{t('trip.feeIfExpires', { fee: i18n.money(reservation.feeFen) })}</p>
          <div className="row">
            <button type="button" className="primary" onClick={() => void rentReserved()} disabled={action.busy}>
              {action.busy ? t('trip.unlocking') : t('trip.unlock')}
            </button>
            <button type="button" onClick={() => void cancel()} disabled={action.busy}>
              {t('trip.cancel')}
            </button>
          </div>
        </Section>
      )}
      {rental && (
        <Section title={t('trip.rental')} id="rental-title">
          <dl className="facts">
            <dt>{t('trip.car')}</dt>
            <dd translate="no">{carName(rental.vehicleId) || '—'}</dd>
            <dt>{t('trip.from')}</dt>
            <dd translate="no">{stationName(rental.startStationId)}</dd>
            <dt>{t('trip.startedAt')}</dt>
            <dd>{i18n.dateTime(rental.startedAt)}</dd>
            <dt>{t('trip.elapsed')}</dt>
            <dd>{i18n.duration(now - Date.parse(rental.startedAt))}</dd>
          </dl>
          <h3>{t('trip.carControl')}</h3>
          <div className="row" data-testid="car-control">
            {(['unlock', 'lock', 'locate'] as const).map((what) => (
              <button key={what} type="button" onClick={() => void command(what)} disabled={control.busy || action.busy}>
                {t(what === 'unlock' ? 'trip.carUnlock' : what === 'lock' ? 'trip.carLock' : 'trip.carLocate')}
              </button>
            ))}
          </div>
          {control.busy && <p className="hint">{t('trip.carSending')}</p>}
          {controlled && !control.busy && (
            <p className="alert alert-ok" role="status" data-testid="car-control-done">
              {t(`trip.carDone.${controlled}`)}
            </p>
          )}
          <ProblemBox error={control.error} />
          <ReportDamage rentalId={rental.id} />
          <h3>{t('trip.returnTitle')}</h3>
          <p className="hint">{t('trip.returnLocksNote')}</p>
          <Field
            label={t('field.returnStation')}
            name="returnStation"
            value={returnAt}
            onChange={setReturnAt}
            options={(stations.data?.items ?? []).map((s) => ({
              value: s.id,
              label: `${s.name} · ${s.returnPolicy === 'open' ? t('stations.policyOpen') : t('stations.policyRoundTrip')}`,
            }))}
          />
          <ProblemBox error={quote.error} />
          {quote.data && (
            <div className="quote" data-testid="quote">
              <p className="hint">{quote.data.oneWay ? t('trip.oneWayNote') : t('trip.sameStationNote')}</p>
              <Bill price={quote.data.price} totalLabel={t('bill.estimate')} />
              {quote.data.refusals.length > 0 && (
                <ul className="alert alert-error" role="alert">
                  {quote.data.refusals.map((r) => (
                    <li key={r.reason}>{t(refusalKey(r.reason))}</li>
                  ))}
                </ul>
              )}
              <button type="button" className="primary" onClick={() => void doReturn()} disabled={action.busy || control.busy || !quote.data.canReturn}>
                {action.busy ? t('trip.returning') : t('trip.confirmReturn')}
              </button>
            </div>
          )}
        </Section>
      )}
      {ended && ended.price && (
        <Section title={t('trip.ended')} id="ended-title">
          <p>{t('trip.endedAt')}</p>
          <p translate="no" className="card-sub">
            {stationName(ended.endStationId)}
          </p>
          <Bill price={ended.price} />
          <p className="hint">{t('trip.receiptNote')}</p>
          <ReportDamage rentalId={ended.id} />
        </Section>
      )}
      {!reservation && !rental && !ended && (
        <Empty>
          {t('trip.none')} <Link to="/">{t('trip.findCar')}</Link>
        </Empty>
      )}
    </div>
  );
}
