export { appConfigSchema, startApp, type AppConfig, type AppDeps } from './service';
export { notifyMember, type NotificationInput } from './notifications';
