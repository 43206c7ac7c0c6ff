export { startInProcessStack, startProcessStack, type Stack, type StackOptions } from './stack';
export { spawnService, freePort, type ServiceProcess, type ServiceName } from './processes';
export { DEV_ACCOUNTS, seedDemoFleet, seedDevelopmentAccounts } from './seed';
export { startLocalAutoscaler, type LocalAutoscalerOptions } from './autoscale';
export { startDevPanel, type DevPanel } from './dev-panel';
export { devPanelMounted, DevPanelRefused, DEV_PANEL_SETTINGS, type DevPanelSetting } from './dev-panel-rules';
export { PANEL_TEXT } from './dev-panel-page';
