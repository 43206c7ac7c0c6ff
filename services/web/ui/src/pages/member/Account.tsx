import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Empty, Field, ProblemBox, Section, useAction, useFieldErrors, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { useApp } from '../../state';
import type { SmsPreferences } from '@evshare/api/schemas';

export const licenceKey = (status: string): MessageKey =>
  (['unverified', 'pending', 'approved', 'rejected'].includes(status) ? `licence.${status}` : 'licence.unverified') as MessageKey;

/** Profile, text messages, driving licence, membership cards, password, and closing the account. */
export function AccountPage() {
  return (
    <div className="grid">
      <Profile />
      <TextMessages />
      <LicenceCard />
      <Cards />
      <Password />
      <Deregister />
    </div>
  );
}

function Profile() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const member = app.sync?.member;
  const [name, setName] = useState(member?.displayName ?? '');
  const [saved, setSaved] = useState(false);
  // Each new state of the member (a poll, a push, the save) puts the stored name back in the field.
  const [nameOf, setNameOf] = useState(member);
  if (member !== nameOf) {
    setNameOf(member);
    if (member) setName(member.displayName);
  }
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    if (await action.run(() => api.updateMe(name.trim()))) {
      setSaved(true);
      app.refresh();
    }
  };
  return (
    <Section title={t('account.profile')} id="profile-title">
      {member && (
        <dl className="facts">
          <dt>{t('field.phone')}</dt>
          <dd translate="no">{member.phone ?? '—'}</dd>
          <dt>{t('field.username')}</dt>
          <dd translate="no">{member.username ?? '—'}</dd>
          <dt>{t('account.since')}</dt>
          <dd>{i18n.dateTime(member.createdAt)}</dd>
        </dl>
      )}
      <form onSubmit={submit} className="form-row">
        <Field label={t('field.displayName')} name="displayName" value={name} onChange={setName} error={errors.displayName} required />
        <button type="submit" disabled={action.busy}>
          {t('action.save')}
        </button>
      </form>
      <ProblemBox error={action.error} />
      {saved && (
        <p className="alert alert-ok" role="status">
          {t('action.saved')}
        </p>
      )}
    </Section>
  );
}

const OPTIONAL_SMS: Array<keyof SmsPreferences> = ['rental-started', 'reservation-expiring', 'low-balance', 'low-battery'];

/** Which optional SMS the member gets; the bill and a debt always go, and the page says so. */
function TextMessages() {
  const { t } = useI18n();
  const settings = useLoad(() => api.smsPreferences(), []);
  // What the switches show: the member's latest click at once, the stored choices otherwise.
  const [shown, setShown] = useState<SmsPreferences>();
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const choices = shown ?? settings.data?.choices;
  const toggle = async (kind: keyof SmsPreferences, on: boolean) => {
    if (!choices) return;
    const next = { ...choices, [kind]: on };
    setShown(next);
    setSaved(false);
    const stored = await action.run(() => api.updateSmsPreferences(next));
    // A refused change shows the stored choices again.
    setShown(stored?.choices);
    if (stored) setSaved(true);
    else settings.reload();
  };
  return (
    <Section title={t('account.sms')} id="sms-title">
      {choices && (
        <ul className="plain" data-testid="sms-preferences">
          {OPTIONAL_SMS.map((kind) => (
            <li key={kind}>
              <label>
                <input type="checkbox" name={kind} checked={choices[kind]} disabled={action.busy} onChange={(e) => void toggle(kind, e.target.checked)} />{' '}
                {t(`sms.pref.${kind}` as MessageKey)}
              </label>
            </li>
          ))}
        </ul>
      )}
      <p className="muted">{t('account.smsAlways')}</p>
      <ProblemBox error={action.error ?? settings.error} />
      {saved && (
        <p className="alert alert-ok" role="status">
          {t('action.saved')}
        </p>
      )}
    </Section>
  );
}

function LicenceCard() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const licence = useLoad(() => api.licence(), [app.version]);
  const [number, setNumber] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await action.run(() => api.submitLicence(number.trim(), expiresOn))) {
      licence.reload();
      app.refresh();
    }
  };
  const l = licence.data;
  return (
    <Section title={t('account.licence')} id="licence-title">
      {l && (
        <p>
          {t('account.licenceState')}{' '}
          <span className={`tag tag-${l.status}`} data-testid="licence-status" data-status={l.status}>
            {t(licenceKey(l.status))}
          </span>
          {l.number && (
            <>
              {' '}
              <span translate="no">{l.number}</span> · {t('account.expires', { date: i18n.date(l.expiresOn) })}
            </>
          )}
        </p>
      )}
      {l?.status === 'rejected' && l.rejectReason && (
        <p className="alert alert-error">
          {t('account.rejectReason')} <span translate="no">{l.rejectReason}</span>
        </p>
      )}
      {l && l.status !== 'approved' && l.status !== 'pending' && (
        <form onSubmit={submit}>
          <Field label={t('field.licenceNumber')} name="number" value={number} onChange={setNumber} error={errors.number} required />
          <Field label={t('field.expiresOn')} name="expiresOn" type="date" value={expiresOn} onChange={setExpiresOn} error={errors.expiresOn} required />
          <button type="submit" className="primary" disabled={action.busy}>
            {t('account.submitLicence')}
          </button>
        </form>
      )}
      <ProblemBox error={action.error ?? licence.error} />
    </Section>
  );
}

function Cards() {
  const i18n = useI18n();
  const { t } = i18n;
  const cards = useLoad(() => api.cards(), []);
  const [uid, setUid] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const bind = async (event: FormEvent) => {
    event.preventDefault();
    if (await action.run(() => api.bindCard(uid.trim()))) {
      setUid('');
      cards.reload();
    }
  };
  const unbind = async (cardUid: string) => {
    if (
      await action.run(async () => {
        await api.unbindCard(cardUid);
        return true;
      })
    )
      cards.reload();
  };
  return (
    <Section title={t('account.cards')} id="cards-title">
      {cards.data && cards.data.items.length === 0 && <Empty>{t('account.noCards')}</Empty>}
      <ul className="plain">
        {(cards.data?.items ?? []).map((c) => (
          <li key={c.uid} className="row">
            <code translate="no">{c.uid}</code>
            <span className="muted">{t('account.boundAt', { at: i18n.dateTime(c.boundAt) })}</span>
            <button type="button" className="link-button" onClick={() => void unbind(c.uid)}>
              {t('account.unbind')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={bind} className="form-row">
        <Field label={t('field.uid')} name="uid" value={uid} onChange={setUid} error={errors.uid} hint={t('account.uidHint')} required />
        <button type="submit" disabled={action.busy}>
          {t('account.bind')}
        </button>
      </form>
      <ProblemBox error={action.error} />
    </Section>
  );
}

function Password() {
  const { t } = useI18n();
  const app = useApp();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    const session = await action.run(() => api.changePassword(current, next));
    if (session) {
      setCurrent('');
      setNext('');
      setDone(true);
      // Every session ended; the answer's cookie is the new one.
      app.signedIn(session);
    }
  };
  return (
    <Section title={t('account.password')} id="password-title">
      <form onSubmit={submit}>
        <Field
          label={t('field.currentPassword')}
          name="currentPassword"
          type="password"
          value={current}
          onChange={setCurrent}
          autoComplete="current-password"
          error={errors.currentPassword}
          required
        />
        <Field
          label={t('field.newPassword')}
          name="newPassword"
          type="password"
          value={next}
          onChange={setNext}
          autoComplete="new-password"
          error={errors.newPassword}
          hint={t('register.passwordHint')}
          required
        />
        <button type="submit" disabled={action.busy}>
          {t('account.changePassword')}
        </button>
      </form>
      <ProblemBox error={action.error} />
      {done && (
        <p className="alert alert-ok" role="status">
          {t('account.passwordChanged')}
        </p>
      )}
    </Section>
  );
}

function Deregister() {
  const { t } = useI18n();
  const app = useApp();
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await action.run(async () => {
      await api.deregister(password);
      return true;
    });
    if (done) await app.signOut();
  };
  return (
    <Section title={t('account.deregister')} id="deregister-title">
      <p className="hint">{t('account.deregisterNote')}</p>
      {!confirming ? (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          {t('account.deregister')}
        </button>
      ) : (
        <form onSubmit={submit}>
          <Field
            label={t('field.password')}
            name="deregisterPassword"
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="current-password"
            required
          />
          <div className="row">
            <button type="submit" className="danger" disabled={action.busy}>
              {t('account.deregisterConfirm')}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              {t('action.cancel')}
            </button>
          </div>
        </form>
      )}
      <ProblemBox error={action.error} />
    </Section>
  );
}
