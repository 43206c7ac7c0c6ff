export { startGateway, type GatewayDeps, type RunningGateway } from './gateway';
export { gatewayConfigSchema, type GatewayConfig } from './config';
export type { LbStatus, LbInstanceStatus, LbUpstreamStatus, LbEvent, LbEventKind } from './status';
