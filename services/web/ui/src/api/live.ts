import { ApiError, type Api } from './client';
import type { Notification, SyncState } from '@evshare/api/schemas';

/** How fresh the page is: push connected, push down but the poll answers, or neither. */
export type LiveStatus = 'connecting' | 'push' | 'poll' | 'offline';

export interface LiveListeners {
  sync(state: SyncState): void;
  notification(notification: Notification): void;
  status(status: LiveStatus): void;
  /** The push channel said the session is over (4401). */
  unauthenticated(): void;
}

/**
 * What the page reads of the push service's frames (`ServerFrame` in services/heartbeat): parsed
 * JSON, not validated, so any field may be missing.
 */
interface PushFrame {
  type?: string;
  heartbeatIntervalMs?: number;
  notification?: Notification;
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** With push connected the poll only catches what is never pushed (fleet counts), so it slows down. */
const POLL_SLOWDOWN_WITH_PUSH = 6;

/**
 * The member's live link (docs/push.md): the `/push` WebSocket, authenticated by the session
 * cookie, with heartbeats and reconnect by exponential backoff with jitter; and the periodic poll
 * of `/api/v1/sync` with its ETag, which carries the page whenever push is unavailable (blocked by
 * a proxy, the push service down) and refreshes the state at once when a notification arrives.
 */
export class LiveChannel {
  private socket: WebSocket | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private pushDelay = BACKOFF_START_MS;
  private pollFailures = 0;
  private pushUp = false;
  private pollOk = true;
  private etag: string | undefined;
  private pollAfterMs = 5_000;
  private stopped = false;
  private polling = false;
  private current: LiveStatus = 'connecting';

  constructor(
    private readonly api: Api,
    private readonly on: LiveListeners,
  ) {}

  start(): void {
    this.stopped = false;
    this.openSocket();
    void this.poll();
    window.addEventListener('online', this.wake);
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.wake);
    clearInterval(this.pingTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pollTimer);
    this.socket?.close(1000, 'bye');
    this.socket = undefined;
  }

  /** Poll now (after the member's own action, or a notification). */
  refresh(): void {
    clearTimeout(this.pollTimer);
    void this.poll();
  }

  private readonly wake = () => {
    this.pushDelay = BACKOFF_START_MS;
    if (!this.pushUp) {
      clearTimeout(this.reconnectTimer);
      this.openSocket();
    }
    this.refresh();
  };

  private setStatus(): void {
    const status: LiveStatus = this.pushUp ? 'push' : this.pollOk ? (this.etag ? 'poll' : 'connecting') : 'offline';
    if (status !== this.current) {
      this.current = status;
      this.on.status(status);
    }
  }

  private openSocket(): void {
    if (this.stopped) return;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/push`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => {
      let frame: PushFrame;
      try {
        frame = JSON.parse(String(event.data)) as PushFrame;
      } catch {
        return;
      }
      if (frame.type === 'welcome') {
        this.pushUp = true;
        this.pushDelay = BACKOFF_START_MS;
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), frame.heartbeatIntervalMs ?? 15_000);
        this.setStatus();
        this.refresh();
      } else if (frame.type === 'notification' && frame.notification) {
        this.on.notification(frame.notification);
        this.refresh();
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.pushUp = false;
      clearInterval(this.pingTimer);
      this.setStatus();
      this.scheduleReconnect(event.code);
    };
  }

  private scheduleReconnect(code: number): void {
    if (this.stopped) return;
    if (code === 4401) {
      this.on.unauthenticated();
      return;
    }
    // 4403: a configuration error; 4429: a newer connection of this member took over.
    if (code === 4403 || code === 4429) return;
    const delay = code === 1001 ? 0 : this.pushDelay * (0.5 + Math.random());
    this.pushDelay = Math.min(this.pushDelay * 2, BACKOFF_MAX_MS);
    this.reconnectTimer = setTimeout(() => this.openSocket(), delay);
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    try {
      const answer = await this.api.sync(this.etag);
      this.pollFailures = 0;
      this.pollOk = true;
      if (answer) {
        this.etag = answer.etag;
        this.pollAfterMs = answer.state.pollAfterMs;
        this.on.sync(answer.state);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.polling = false;
        return;
      }
      this.pollFailures += 1;
      this.pollOk = false;
    } finally {
      this.polling = false;
    }
    this.setStatus();
    if (this.stopped) return;
    const base = this.pushUp ? this.pollAfterMs * POLL_SLOWDOWN_WITH_PUSH : this.pollAfterMs;
    const delay = this.pollFailures ? Math.min(BACKOFF_START_MS * 2 ** this.pollFailures, BACKOFF_MAX_MS) : base;
    this.pollTimer = setTimeout(() => void this.poll(), delay);
  }
}
