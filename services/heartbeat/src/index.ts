export { heartbeatConfigSchema, startHeartbeat, type HeartbeatConfig, type HeartbeatService } from './service';
export { CLOSE, MAX_CLIENT_FRAME_BYTES, parseClientFrame, type ClientFrame, type ServerFrame, type FrameError, type FrameErrorCode } from './protocol';
