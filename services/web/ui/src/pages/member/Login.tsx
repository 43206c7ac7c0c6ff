import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Link } from '../../components/Link';
import { Field, ProblemBox, useAction, useFieldErrors } from '../../components/ui';
import { useI18n } from '../../i18n';
import { useApp } from '../../state';

export function LoginPage() {
  const { t } = useI18n();
  const app = useApp();
  const [account, setAccount] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const errors = useFieldErrors(action.error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = await action.run(() => api.login(account.trim(), password));
    if (session) app.signedIn(session);
  };
  return (
    <form className="card auth-card" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">{t('login.title')}</h1>
      <p className="lead">{t('login.lead')}</p>
      {app.expired && (
        <p className="alert alert-info" role="status">
          {t('login.expired')}
        </p>
      )}
      <Field label={t('field.account')} name="account" value={account} onChange={setAccount} autoComplete="username" required error={errors.account} />
      <Field
        label={t('field.password')}
        name="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="current-password"
        required
        error={errors.password}
      />
      <ProblemBox error={action.error} />
      <button type="submit" className="primary" disabled={action.busy}>
        {t('login.submit')}
      </button>
      <p>
        {t('login.noAccount')} <Link to="/register">{t('login.register')}</Link>
      </p>
    </form>
  );
}
