export { startApp, type AppDeps } from './service';
export { appConfigSchema, apiLimits, type AppConfig } from './config';
export type { AppContext } from './context';
export { notifyMember, type NotificationInput } from './notifications';
// The one way a balance changes outside billing, for the development seed's demo wallet.
export { bookEntry } from './wallet/ledger';
