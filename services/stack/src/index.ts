export { startInProcessStack, startProcessStack, type Stack, type StackOptions } from './stack';
export { spawnService, freePort, type ServiceProcess, type ServiceName } from './processes';
export { DEV_ACCOUNTS, seedDemoFleet, seedDevelopmentAccounts } from './seed';
export { startLocalAutoscaler, type LocalAutoscalerOptions } from './autoscale';
