import { api } from '../../api/client';
import { isTranslated, notificationText } from '../../components/notes';
import { Empty, ProblemBox, Section, useAction } from '../../components/ui';
import { useI18n } from '../../i18n';
import { useApp } from '../../state';

/** Unread notifications, live (push) and from the poll; reading one removes it. */
export function NotificationsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const action = useAction();
  const read = async (id: string) => {
    await action.run(() => api.markRead(id));
    app.refresh();
  };
  return (
    <Section title={t('notes.title')} id="notes-title">
      <ProblemBox error={action.error} />
      {app.notifications.length === 0 && <Empty>{t('notes.none')}</Empty>}
      <ul className="notes" aria-live="polite" data-testid="notifications">
        {app.notifications.map((n) => (
          <li key={n.id} className="note" data-kind={n.kind}>
            <div>
              <strong translate={isTranslated(n) ? undefined : 'no'}>{notificationText(i18n, n)}</strong>
              <small className="muted"> {i18n.dateTime(n.at)}</small>
            </div>
            <button type="button" className="link-button" onClick={() => void read(n.id)} disabled={action.busy}>
              {t('notes.markRead')}
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}
