import type pg from 'pg';
import type { Logger } from '../logger';

export interface NotificationListenerOptions {
  /** A plain identifier (letters, digits, underscores): it is written into LISTEN as is. */
  channel: string;
  log: Logger;
  /** Wait before listening again after the connection broke or could not be opened. */
  retryMs: number;
  onNotification(payload: string): void;
  /**
   * Called once listening again after a broken connection: whatever was notified meanwhile is
   * lost, so the caller catches up (recomputes everything it derives from the channel).
   */
  onReconnect(): void;
}

export interface NotificationListener {
  /** False while the connection is broken and not yet replaced (a readiness check). */
  listening(): boolean;
  close(): Promise<void>;
}

/**
 * LISTENs on a dedicated pool connection. When that connection breaks (server restart, failover,
 * terminated backend) another one is opened every retryMs until it works, then onReconnect runs.
 * The first LISTEN is awaited: a service that cannot listen at start fails to start.
 */
export async function listenForNotifications(pool: pg.Pool, options: NotificationListenerOptions): Promise<NotificationListener> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(options.channel)) throw new Error(`invalid channel name: ${options.channel}`);
  const { channel, log } = options;
  // The connection currently listening, and how to let go of it (at most once).
  let current: { drop(error?: Error): void } | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = await pool.connect();
    let dropped = false;
    let established = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (current?.drop === drop) current = undefined;
      // Destroyed, not returned to the pool: a pooled connection must not stay subscribed.
      c.release(error ?? true);
      // A failed LISTEN is retried by whoever called connect.
      if (closed || !established) return;
      log.warn({ err: error, channel }, 'notification listener lost; listening again');
      retry = setTimeout(relisten, options.retryMs);
    };
    if (closed) return drop();
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) options.onNotification(n.payload);
    });
    c.on('error', drop);
    c.on('end', () => drop(new Error('connection ended')));
    try {
      await c.query(`LISTEN ${channel}`);
    } catch (error) {
      drop(error as Error);
      throw error;
    }
    if (dropped) throw new Error('connection lost while starting to listen');
    established = true;
    current = { drop };
  };
  const relisten = () => {
    retry = undefined;
    connect().then(
      () => {
        if (!closed) options.onReconnect();
      },
      (error: unknown) => {
        if (closed) return;
        log.warn({ err: error, channel }, 'cannot listen for notifications yet');
        retry = setTimeout(relisten, options.retryMs);
      },
    );
  };

  await connect();
  return {
    listening: () => current !== undefined,
    async close() {
      closed = true;
      clearTimeout(retry);
      current?.drop();
    },
  };
}
