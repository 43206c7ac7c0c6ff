export { appConfigSchema, startApp, type AppConfig, type AppDeps, type AppContext } from './service';
export { notifyMember, type NotificationInput } from './notifications';
// The one way a balance changes outside billing, for the development seed's demo wallet.
export { bookEntry } from './wallet/ledger';
// The pure fee rules, for the telematics service's billing of trips the cars record offline.
export { computeFee, planAt, type PricingPlan, type FeeBreakdown } from './rental/pricing';
