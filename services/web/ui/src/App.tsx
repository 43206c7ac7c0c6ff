import { useEffect, useState, type ReactNode } from 'react';
import { Link } from './components/Link';
import { I18nProvider, initialLang, LANGS, rememberLang, useI18n, type Lang, type MessageKey } from './i18n';
import { AppProvider, useApp, useRoute } from './state';
import { isTranslated, notificationText } from './components/notes';
import { LoginPage } from './pages/member/Login';
import { RegisterPage } from './pages/member/Register';
import { StationsPage } from './pages/member/Stations';
import { TripPage } from './pages/member/Trip';
import { WalletPage } from './pages/member/Wallet';
import { HistoryPage } from './pages/member/History';
import { NotificationsPage } from './pages/member/Notifications';
import { AccountPage } from './pages/member/Account';
import { ChargingPage } from './pages/member/Charging';
import { FleetPage } from './pages/console/Fleet';
import { ConsoleStationsPage } from './pages/console/Stations';
import { PricingPage } from './pages/console/Pricing';
import { MembersPage } from './pages/console/Members';
import { RentalsPage } from './pages/console/Rentals';
import { SmsPage } from './pages/console/Sms';
import { ClusterPage } from './pages/console/Cluster';
import { PilesPage } from './pages/console/Piles';
import { ReviewsPage } from './pages/console/Reviews';
import { ReportsPage } from './pages/console/Reports';
import { OnboardingPage } from './pages/console/Onboarding';

interface Route {
  path: string;
  title: MessageKey;
  page: () => ReactNode;
  admin?: boolean;
}

const MEMBER_ROUTES: Route[] = [
  { path: '/', title: 'nav.stations', page: () => <StationsPage /> },
  { path: '/trip', title: 'nav.trip', page: () => <TripPage /> },
  { path: '/wallet', title: 'nav.wallet', page: () => <WalletPage /> },
  { path: '/history', title: 'nav.history', page: () => <HistoryPage /> },
  { path: '/charging', title: 'nav.charging', page: () => <ChargingPage /> },
  { path: '/notifications', title: 'nav.notifications', page: () => <NotificationsPage /> },
  { path: '/account', title: 'nav.account', page: () => <AccountPage /> },
];

const CONSOLE_ROUTES: Route[] = [
  { path: '/console', title: 'nav.fleet', page: () => <FleetPage />, admin: true },
  { path: '/console/stations', title: 'nav.consoleStations', page: () => <ConsoleStationsPage />, admin: true },
  { path: '/console/pricing', title: 'nav.pricing', page: () => <PricingPage />, admin: true },
  { path: '/console/members', title: 'nav.members', page: () => <MembersPage />, admin: true },
  { path: '/console/rentals', title: 'nav.rentals', page: () => <RentalsPage />, admin: true },
  { path: '/console/piles', title: 'nav.piles', page: () => <PilesPage />, admin: true },
  { path: '/console/reviews', title: 'nav.reviews', page: () => <ReviewsPage />, admin: true },
  { path: '/console/reports', title: 'nav.reports', page: () => <ReportsPage />, admin: true },
  { path: '/console/onboarding', title: 'nav.onboarding', page: () => <OnboardingPage />, admin: true },
  { path: '/console/sms', title: 'nav.sms', page: () => <SmsPage />, admin: true },
  { path: '/console/cluster', title: 'nav.cluster', page: () => <ClusterPage />, admin: true },
];

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const [path, navigate] = useRoute();
  useEffect(() => rememberLang(lang), [lang]);
  return (
    <I18nProvider lang={lang}>
      <AppProvider path={path} navigate={navigate}>
        <Shell lang={lang} setLang={setLang} />
      </AppProvider>
    </I18nProvider>
  );
}

function Shell(props: { lang: Lang; setLang(lang: Lang): void }) {
  const app = useApp();
  const i18n = useI18n();
  const { t } = i18n;
  const { session, path } = app;
  const isPublic = path === '/login' || path === '/register';

  useEffect(() => {
    if (session === null && !isPublic) app.navigate('/login');
    if (session && isPublic) app.navigate(session.role === 'admin' ? '/console' : '/');
  }, [session, isPublic, app]);

  const routes = session?.role === 'admin' ? [...MEMBER_ROUTES, ...CONSOLE_ROUTES] : MEMBER_ROUTES;
  const route = routes.find((r) => r.path === path);
  useEffect(() => {
    const title = isPublic ? (path === '/login' ? t('nav.login') : t('nav.register')) : route ? t(route.title) : t('nav.notFound');
    document.title = `${title} · ${t('app.name')}`;
  }, [route, isPublic, path, t]);

  const langSwitch = (
    <div className="lang" role="group" aria-label={t('app.language')}>
      {LANGS.map((l) => (
        <button
          key={l}
          type="button"
          className="lang-button"
          aria-pressed={props.lang === l}
          onClick={() => props.setLang(l)}
          lang={l === 'zh' ? 'zh-CN' : 'en'}
          translate="no"
        >
          {t(l === 'zh' ? 'app.langZh' : 'app.langEn')}
        </button>
      ))}
    </div>
  );

  if (session === undefined) return <p className="loading">{t('app.loading')}</p>;

  if (isPublic || !session) {
    return (
      <div className="public">
        <header className="public-head">
          <Brand />
          {langSwitch}
        </header>
        <main id="main">{path === '/register' ? <RegisterPage /> : <LoginPage />}</main>
      </div>
    );
  }

  const unread = app.notifications.length;
  return (
    <div className="layout">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="top">
        <Brand />
        <LiveBadge />
        {langSwitch}
        <button type="button" className="link-button" onClick={() => void app.signOut()}>
          {t('nav.logout')}
        </button>
      </header>
      <nav className="nav" aria-label={t('nav.label')}>
        <ul>
          {MEMBER_ROUTES.map((r) => (
            <li key={r.path}>
              <Link to={r.path} current={r.path === path}>
                {t(r.title)}
                {r.path === '/notifications' && unread > 0 && (
                  <span className="badge" aria-label={t('nav.unread', { n: unread })}>
                    {unread}
                  </span>
                )}
              </Link>
            </li>
          ))}
        </ul>
        {session.role === 'admin' && (
          <>
            <p className="nav-group">{t('nav.console')}</p>
            <ul>
              {CONSOLE_ROUTES.map((r) => (
                <li key={r.path}>
                  <Link to={r.path} current={r.path === path}>
                    {t(r.title)}
                  </Link>
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        <h1>{route ? t(route.title) : t('nav.notFound')}</h1>
        {route ? route.page() : <p>{t('app.notFound')}</p>}
      </main>
      {app.toasts.length > 0 && (
        <div className="toasts">
          {app.toasts.map((toast) => (
            <div key={toast.id} className="toast" role="status" aria-live="polite">
              <span translate={isTranslated(toast) ? undefined : 'no'}>{notificationText(i18n, toast)}</span>
              <button type="button" className="link-button" onClick={() => app.dismissToast(toast.id)} aria-label={t('app.dismiss')}>
                ×
              </button>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function Brand() {
  const { t } = useI18n();
  return (
    <span className="brand">
      <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="#0a7d5a" />
        <path d="M18 4 8 18h7l-2 10 11-15h-7z" fill="#fff" />
      </svg>
      <span>{t('app.name')}</span>
    </span>
  );
}

function LiveBadge() {
  const { live } = useApp();
  const { t } = useI18n();
  const key: Record<typeof live, MessageKey> = { connecting: 'live.connecting', push: 'live.push', poll: 'live.poll', offline: 'live.offline' };
  return (
    <span className={`live live-${live}`} role="status" data-live={live} title={t(`${key[live]}Hint` as MessageKey)}>
      <span className="dot" aria-hidden="true" />
      {t(key[live])}
    </span>
  );
}
