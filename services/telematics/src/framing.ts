/**
 * MQTT framing seen from outside the parser (pure, no I/O): the embedded broker feeds every byte a
 * network client sends through this before aedes sees it, so a packet whose announced remaining
 * length is over the cap is refused from its header alone, before any of it is buffered.
 * mqtt-packet's parser has no size limit: it buffers whatever length a header announces.
 */
export type FrameRefusal = 'oversize' | 'malformed' | 'not-connect';

export interface FrameGuard {
  /** Accepts the chunk, or names why the connection must close now. */
  feed(chunk: Uint8Array): FrameRefusal | undefined;
}

/** A remaining length is at most 4 bytes (MQTT 3.1.1 §2.2.3). */
const MAX_LENGTH_BYTES = 4;
const CONNECT = 1;
/**
 * What a client may send after its CONNECT: PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE,
 * UNSUBSCRIBE, PINGREQ, DISCONNECT. A second CONNECT, a server's packet or a reserved type closes
 * the connection at its first byte instead of letting its length swallow what follows.
 */
const CLIENT_TYPES = new Set([3, 4, 5, 6, 7, 8, 10, 12, 14]);

/** `limit()` is read at every packet header: the broker raises it once the client is authenticated. */
export function createFrameGuard(limit: () => number): FrameGuard {
  let state: 'type' | 'length' | 'body' = 'type';
  let packets = 0;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  return {
    feed(chunk) {
      let i = 0;
      while (i < chunk.length) {
        if (state === 'body') {
          const take = Math.min(remaining, chunk.length - i);
          remaining -= take;
          i += take;
          if (remaining === 0) state = 'type';
          continue;
        }
        const byte = chunk[i++]!;
        if (state === 'type') {
          // The first packet must be CONNECT [MQTT-3.1.0-1], and only the first [MQTT-3.1.0-2].
          if (packets++ === 0) {
            if (byte >> 4 !== CONNECT) return 'not-connect';
          } else if (!CLIENT_TYPES.has(byte >> 4)) return 'malformed';
          state = 'length';
          length = 0;
          multiplier = 1;
          lengthBytes = 0;
          continue;
        }
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        // Refused as soon as the length already announced passes the cap, before it completes.
        if (length > limit()) return 'oversize';
        if (byte & 0x80) {
          if (lengthBytes === MAX_LENGTH_BYTES) return 'malformed';
          continue;
        }
        remaining = length;
        state = remaining === 0 ? 'type' : 'body';
      }
      return undefined;
    },
  };
}
