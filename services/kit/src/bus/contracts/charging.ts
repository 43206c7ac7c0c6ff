import { z } from 'zod';

/**
 * Calls from the platform to a pile reach the charging instance holding its WebSocket, wherever
 * the caller runs (core NATS, request/reply correlated by id):
 *
 *   charging.pile.<pileId>.call        PileCall
 *   charging.reply.<instanceId>        PileReply
 *   charging.pile.<pileId>.connected   PileConnected (another instance drops a stale socket)
 */
export const chargingSubjects = {
  pileCall: (pileId: string) => `charging.pile.${pileId}.call`,
  pileConnected: (pileId: string) => `charging.pile.${pileId}.connected`,
  /** An instance id may hold characters a subject token may not (a pod name's dots). */
  reply: (instanceId: string) => `charging.reply.${instanceId.replace(/[^A-Za-z0-9_-]/g, '_')}`,
  pileCallAll: 'charging.pile.*.call',
  pileConnectedAll: 'charging.pile.*.connected',
  replyAll: 'charging.reply.*',
} as const;

/** The pile id of a charging.pile.<pileId>.<kind> subject. */
export function pileOfSubject(subject: string): string | undefined {
  return subject.split('.')[2];
}

export const pileCallSchema = z.object({
  id: z.string(),
  replyTo: z.string(),
  method: z.string(),
  params: z.unknown(),
  timeoutMs: z.number().int().positive(),
});
export type PileCall = z.infer<typeof pileCallSchema>;

export const pileReplySchema = z.object({
  id: z.string(),
  ok: z.boolean(),
  result: z.unknown().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type PileReply = z.infer<typeof pileReplySchema>;

export const pileConnectedSchema = z.object({ instanceId: z.string() });
export type PileConnected = z.infer<typeof pileConnectedSchema>;
