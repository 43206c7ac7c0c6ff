import { z } from 'zod';
import type { PushNotification } from '@evshare/kit';

/**
 * The push channel's wire protocol: JSON text frames in both directions (docs/push.md).
 * Parsing is pure so every malformed input a client can send is covered by unit tests.
 */

/** Largest frame a client may send; its frames are a few dozen bytes, so this bounds memory per socket. */
export const MAX_CLIENT_FRAME_BYTES = 4 * 1024;

/** WebSocket close codes the server uses (4000-4999 are free for applications). */
export const CLOSE = {
  /** Shutdown or restart: reconnect (to another instance). */
  goingAway: 1001,
  /** The server failed handling a frame: reconnect. */
  internalError: 1011,
  /** The session store could not be asked: reconnect after a short backoff. */
  tryAgainLater: 1013,
  /** No, a wrong, an expired or a revoked session key: log in again, do not retry with the same key. */
  unauthenticated: 4401,
  /** The session cookie came from a page whose origin is not allowed (ALLOWED_ORIGINS). */
  forbiddenOrigin: 4403,
  /** The member opened more connections than allowed; this, the oldest, was closed. */
  tooManyConnections: 4429,
} as const;

const authFrame = z.object({ type: z.literal('auth'), sessionKey: z.string().min(1).max(512) });
const pingFrame = z.object({ type: z.literal('ping') });

export type ClientFrame = z.infer<typeof authFrame> | z.infer<typeof pingFrame>;

export type FrameErrorCode = 'binary-frame' | 'malformed-json' | 'invalid-frame' | 'unknown-type' | 'rate-limited' | 'already-authenticated' | 'unavailable';

export interface FrameError {
  code: FrameErrorCode;
  message: string;
}

export type ServerFrame =
  | { type: 'welcome'; memberId: string; heartbeatIntervalMs: number }
  | { type: 'pong'; at: string }
  | { type: 'notification'; notification: PushNotification }
  | ({ type: 'error' } & FrameError);

const CLIENT_FRAMES: Record<ClientFrame['type'], z.ZodType<ClientFrame>> = { auth: authFrame, ping: pingFrame };

/** One client frame, or the error frame to answer with. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean): { frame: ClientFrame } | { error: FrameError } {
  if (isBinary) return { error: { code: 'binary-frame', message: 'Frames must be JSON text, not binary' } };
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (error) {
    return { error: { code: 'malformed-json', message: `Frame is not valid JSON: ${(error as Error).message}` } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: { code: 'invalid-frame', message: 'A frame must be a JSON object with a "type"' } };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { error: { code: 'invalid-frame', message: 'A frame must have a string "type"' } };
  const schema = Object.hasOwn(CLIENT_FRAMES, type) ? CLIENT_FRAMES[type as ClientFrame['type']] : undefined;
  if (!schema)
    return { error: { code: 'unknown-type', message: `Unknown frame type "${type.slice(0, 32)}"; expected one of: ${Object.keys(CLIENT_FRAMES).join(', ')}` } };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      error: { code: 'invalid-frame', message: `Invalid "${type}" frame: ${issue ? `${issue.path.join('.') || '(frame)'}: ${issue.message}` : 'invalid'}` },
    };
  }
  return { frame: parsed.data };
}

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
