export { startInProcessStack, startProcessStack, type Stack, type StackOptions } from './stack';
export { spawnService, freePort, type ServiceProcess, type ServiceName } from './processes';
export { DEV_ACCOUNTS, seedDemoFleet, seedDevelopmentAccounts } from './seed';
export { startLocalAutoscaler, AUTOSCALE_SUBJECT, type LocalAutoscalerOptions } from './autoscale';
