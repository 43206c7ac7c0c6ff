import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Link } from '../../components/Link';
import { Field, ProblemBox, useAction, useFieldErrors } from '../../components/ui';
import { LOCALE, useI18n } from '../../i18n';
import { useApp } from '../../state';

export function RegisterPage() {
  const { t, lang } = useI18n();
  const app = useApp();
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [cooldown, setCooldown] = useState(0);
  const [sent, setSent] = useState(false);
  const sending = useAction();
  const action = useAction();
  const errors = { ...useFieldErrors(sending.error), ...useFieldErrors(action.error) };

  useEffect(() => {
    if (cooldown <= 0) return;
    const timer = setTimeout(() => setCooldown((c) => c - 1), 1000);
    return () => clearTimeout(timer);
  }, [cooldown]);

  const sendCode = async () => {
    const answer = await sending.run(() => api.sendRegistrationCode(phone.trim(), LOCALE[lang]));
    if (answer) {
      setSent(true);
      setCooldown(60);
    }
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = await action.run(() =>
      api.register({ phone: phone.trim(), code: code.trim(), password, displayName: displayName.trim(), locale: LOCALE[lang] }),
    );
    if (session) app.signedIn(session);
  };
  return (
    <form className="card auth-card" onSubmit={submit} aria-labelledby="register-title">
      <h1 id="register-title">{t('register.title')}</h1>
      <p className="lead">{t('register.lead')}</p>
      <Field
        label={t('field.phone')}
        name="phone"
        type="tel"
        inputMode="tel"
        value={phone}
        onChange={setPhone}
        autoComplete="tel"
        required
        error={errors.phone}
      />
      <div className="row">
        <button type="button" onClick={() => void sendCode()} disabled={sending.busy || cooldown > 0 || !phone.trim()}>
          {cooldown > 0 ? t('register.resendIn', { s: cooldown }) : t('register.sendCode')}
        </button>
        {sent && (
          <span className="hint" role="status">
            {t('register.codeSent')}
          </span>
        )}
      </div>
      <ProblemBox error={sending.error} />
      <Field
        label={t('field.code')}
        name="code"
        inputMode="numeric"
        value={code}
        onChange={setCode}
        autoComplete="one-time-code"
        required
        error={errors.code}
      />
      <Field
        label={t('field.displayName')}
        name="displayName"
        value={displayName}
        onChange={setDisplayName}
        autoComplete="nickname"
        required
        error={errors.displayName}
      />
      <Field
        label={t('field.password')}
        name="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        required
        error={errors.password}
        hint={t('register.passwordHint')}
      />
      <ProblemBox error={action.error} />
      <button type="submit" className="primary" disabled={action.busy}>
        {t('register.submit')}
      </button>
      <p>
        {t('register.haveAccount')} <Link to="/login">{t('register.login')}</Link>
      </p>
    </form>
  );
}
