import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, ApiError } from './api/client';
import { LiveChannel, type LiveStatus } from './api/live';
import type { AvailableVehicle, Notification, Session, SyncState } from '@evshare/api/schemas';

/** Client-side routes: the path is the page; history API, no hash. */
export function useRoute(): [string, (to: string) => void] {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    if (to !== location.pathname) history.pushState(null, '', to);
    setPath(to);
    window.scrollTo(0, 0);
  }, []);
  return [path, navigate];
}

export interface AppState {
  session: Session | null | undefined;
  sync: SyncState | undefined;
  live: LiveStatus;
  /** Unread notifications: the poll's list merged with what push delivered since. */
  notifications: Notification[];
  /**
   * The notifications pushed in the last TOAST_MS, newest first (at most TOASTS_SHOWN): a bill and
   * its receipt arrive within milliseconds, and neither may hide the other.
   */
  toasts: Notification[];
  dismissToast(id: string): void;
  /** Grows at every change of the member's state (poll or push): pages reload their data on it. */
  version: number;
  /** Cars seen on station pages, to name the car of a reservation or rental. */
  vehicles: Map<string, AvailableVehicle>;
  rememberVehicles: (items: AvailableVehicle[]) => void;
  /** Set after a login or registration. */
  signedIn: (session: Session) => void;
  signOut: () => Promise<void>;
  /** Why the member is on the login page (the session expired). */
  expired: boolean;
  refresh: () => void;
  navigate: (to: string) => void;
  path: string;
}

const Context = createContext<AppState | undefined>(undefined);

const TOAST_MS = 8_000;
const TOASTS_SHOWN = 3;

export function useApp(): AppState {
  const value = useContext(Context);
  if (!value) throw new Error('useApp outside AppProvider');
  return value;
}

export function AppProvider(props: { children: ReactNode; path: string; navigate: (to: string) => void }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [sync, setSync] = useState<SyncState>();
  const [live, setLive] = useState<LiveStatus>('connecting');
  const [pushed, setPushed] = useState<Notification[]>([]);
  const [toasts, setToasts] = useState<Notification[]>([]);
  const [version, setVersion] = useState(0);
  const [expired, setExpired] = useState(false);
  // One map for the provider's life, filled in place as station pages list cars.
  const [vehicles] = useState(() => new Map<string, AvailableVehicle>());
  const channel = useRef<LiveChannel | undefined>(undefined);
  const { navigate } = props;

  const endSession = useCallback(
    (becauseExpired: boolean) => {
      channel.current?.stop();
      channel.current = undefined;
      setSession(null);
      setSync(undefined);
      setPushed([]);
      setExpired(becauseExpired);
      if (!location.pathname.startsWith('/register')) navigate('/login');
    },
    [navigate],
  );

  useEffect(() => {
    api.onUnauthenticated = () => endSession(true);
    api
      .session()
      .then(setSession)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) setSession(null);
        else setSession(null);
      });
  }, [endSession]);

  useEffect(() => {
    if (!session) return;
    const live = new LiveChannel(api, {
      sync: (state) => {
        setSync(state);
        setPushed((list) => list.filter((n) => !state.notifications.some((s) => s.id === n.id)));
        setVersion((v) => v + 1);
      },
      notification: (notification) => {
        setPushed((list) => (list.some((n) => n.id === notification.id) ? list : [notification, ...list]));
        setToasts((list) => (list.some((n) => n.id === notification.id) ? list : [notification, ...list].slice(0, TOASTS_SHOWN)));
        setTimeout(() => setToasts((list) => list.filter((n) => n.id !== notification.id)), TOAST_MS);
        setVersion((v) => v + 1);
      },
      status: setLive,
      unauthenticated: () => endSession(true),
    });
    channel.current = live;
    live.start();
    return () => live.stop();
  }, [session, endSession]);

  const synced = sync?.notifications ?? [];
  const notifications = [...pushed.filter((n) => !synced.some((s) => s.id === n.id)), ...synced];

  const value: AppState = {
    session,
    sync,
    live,
    notifications,
    toasts,
    dismissToast: (id) => setToasts((list) => list.filter((n) => n.id !== id)),
    version,
    vehicles,
    rememberVehicles: (items) => items.forEach((v) => vehicles.set(v.id, v)),
    signedIn: (next) => {
      setExpired(false);
      setSession(next);
    },
    signOut: async () => {
      try {
        await api.logout();
      } catch {
        // Already gone: the page leaves the session either way.
      }
      endSession(false);
    },
    expired,
    refresh: () => {
      channel.current?.refresh();
      setVersion((v) => v + 1);
    },
    navigate,
    path: props.path,
  };
  return <Context.Provider value={value}>{props.children}</Context.Provider>;
}
