export { appConfigSchema, startApp, type AppConfig, type AppDeps, type AppContext } from './service';
export { notifyMember, type NotificationInput } from './notifications';
