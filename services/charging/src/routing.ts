import { randomUUID } from 'node:crypto';
import {
  SUBJECTS,
  pileCallSchema,
  pileConnectedSchema,
  pileOfSubject,
  pileReplySchema,
  type Bus,
  type Logger,
  type PileCall,
  type PileReply,
} from '@evshare/kit';

/**
 * Calls from the platform to a pile reach the charging instance holding its WebSocket, wherever
 * the caller runs (the contract: kit/bus/contracts/charging.ts). Every instance subscribes to all
 * pile calls and answers only for the piles it holds; the caller learns from the piles table which
 * instance that is, so a call to an offline pile fails at once instead of timing out.
 */
/** The pile's answer was a CALLERROR, or it could not be reached. */
export class PileCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalPiles {
  has(pileId: string): boolean;
  call(pileId: string, method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  /** Another instance took the pile's connection: close ours. */
  drop(pileId: string): void;
}

export interface PileRouter {
  call(pileId: string, holder: string | null, method: string, params: unknown): Promise<unknown>;
  stop(): void;
}

export function createPileRouter(options: { bus: Bus; log: Logger; instanceId: string; local: LocalPiles; timeoutMs: number }): PileRouter {
  const { bus, log, instanceId, local, timeoutMs } = options;
  const pending = new Map<string, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  const ownReplies = SUBJECTS.chargingReply(instanceId);

  const toError = (error: unknown) => {
    const code = (error as { rpcErrorCode?: string }).rpcErrorCode ?? (error instanceof PileCallError ? error.code : 'Timeout');
    return { code, message: (error as Error).message ?? String(error) };
  };

  const unsubscribers = [
    bus.subscribe(SUBJECTS.pileCallAll, (data, subject) => {
      const parsed = pileCallSchema.safeParse(data);
      const pileId = pileOfSubject(subject);
      if (!parsed.success || pileId === undefined || !local.has(pileId)) return;
      const { id, replyTo, method, params } = parsed.data;
      local.call(pileId, method, params, parsed.data.timeoutMs).then(
        (result) => bus.publish(replyTo, { id, ok: true, result } satisfies PileReply),
        (error: unknown) => bus.publish(replyTo, { id, ok: false, ...toError(error) } satisfies PileReply),
      );
    }),
    bus.subscribe(ownReplies, (data) => {
      const parsed = pileReplySchema.safeParse(data);
      if (!parsed.success) return;
      const waiter = pending.get(parsed.data.id);
      if (!waiter) return;
      pending.delete(parsed.data.id);
      clearTimeout(waiter.timer);
      if (parsed.data.ok) waiter.resolve(parsed.data.result);
      else waiter.reject(new PileCallError(parsed.data.code ?? 'GenericError', parsed.data.message ?? 'call failed'));
    }),
    bus.subscribe(SUBJECTS.pileConnectedAll, (data, subject) => {
      const parsed = pileConnectedSchema.safeParse(data);
      const pileId = pileOfSubject(subject);
      if (!parsed.success || pileId === undefined || parsed.data.instanceId === instanceId || !local.has(pileId)) return;
      log.info({ pileId, instance: parsed.data.instanceId }, 'pile reconnected to another instance; closing the stale socket');
      local.drop(pileId);
    }),
  ];

  return {
    async call(pileId, holder, method, params) {
      if (local.has(pileId)) {
        try {
          return await local.call(pileId, method, params, timeoutMs);
        } catch (error) {
          const { code, message } = toError(error);
          throw new PileCallError(code, message);
        }
      }
      if (!holder) throw new PileCallError('Offline', `pile ${pileId} is not connected`);
      const id = randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new PileCallError('Timeout', `pile ${pileId} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs + 500);
        pending.set(id, { resolve, reject, timer });
        bus.publish(SUBJECTS.pileCall(pileId), { id, replyTo: ownReplies, method, params, timeoutMs } satisfies PileCall);
      });
    },
    stop() {
      for (const unsubscribe of unsubscribers) unsubscribe();
      for (const waiter of pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new PileCallError('Stopping', 'the charging service is stopping'));
      }
      pending.clear();
    },
  };
}
