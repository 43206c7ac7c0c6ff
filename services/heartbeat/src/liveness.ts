/**
 * Dead-connection detection as a pure function of timestamps. The server pings each connection
 * once per heartbeat interval; anything the client sends (a pong, a ping, any frame) proves it is
 * alive. A connection silent for two intervals has missed two heartbeats and is terminated.
 */
export interface LivenessState {
  /** When the last frame of any kind arrived from the client. */
  lastSeenAt: number;
  /** When the server last sent a WebSocket ping. */
  lastPingAt: number;
}

export type LivenessAction = 'ok' | 'ping' | 'dead';

export function livenessAction(state: LivenessState, now: number, intervalMs: number): LivenessAction {
  if (now - state.lastSeenAt >= 2 * intervalMs) return 'dead';
  if (now - state.lastPingAt >= intervalMs) return 'ping';
  return 'ok';
}

/**
 * How often the connections are swept. A quarter interval bounds detection to between 2 and 2.25
 * intervals of silence, while a sweep over all connections stays rare (every 3.75 s at 15 s).
 */
export function sweepIntervalMs(intervalMs: number): number {
  return Math.max(10, Math.floor(intervalMs / 4));
}
