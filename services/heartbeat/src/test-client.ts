import WebSocket, { type ClientOptions } from 'ws';
import { toBuffer } from './push-server';

/** Test support (not built): a WebSocket client that records frames and the close, with bounded waits. */

export interface Closed {
  code: number;
  reason: string;
  at: number;
}

export class Client {
  readonly frames: Array<Record<string, unknown>> = [];
  readonly closed: Promise<Closed>;
  openedAt = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(toBuffer(data).toString()) as Record<string, unknown>);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));
    ws.on('error', () => undefined);
  }

  /** The first recorded frame matching `predicate`, waiting up to timeoutMs for it. */
  async next(predicate: (frame: Record<string, unknown>) => boolean, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  ofType(type: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.next((frame) => frame.type === type, timeoutMs);
  }

  count(type: string): number {
    return this.frames.filter((frame) => frame.type === type).length;
  }

  send(data: unknown): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  async closedWithin(timeoutMs: number): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Opens clients to a service's /push and terminates every one of them on closeAll(). */
export function clientPool() {
  const open: Client[] = [];
  return {
    async connect(serviceUrl: string, options: ClientOptions = {}): Promise<Client> {
      const ws = new WebSocket(`${serviceUrl.replace(/^http/, 'ws')}/push`, options);
      const client = new Client(ws);
      open.push(client);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      client.openedAt = Date.now();
      return client;
    },
    closeAll(): void {
      for (const client of open.splice(0)) client.ws.terminate();
    },
  };
}
