import type { RawData } from 'ws';

/** The text of a WebSocket message: ws hands a Buffer, an ArrayBuffer or the fragments, by binaryType. */
export function messageText(data: RawData): string {
  const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  return bytes.toString('utf8');
}
