export { heartbeatConfigSchema, startHeartbeat, type HeartbeatConfig, type HeartbeatService, type OnlineReport } from './service';
export { CLOSE, MAX_CLIENT_FRAME_BYTES, parseClientFrame, type ClientFrame, type ServerFrame, type FrameError, type FrameErrorCode } from './protocol';
