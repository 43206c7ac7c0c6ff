import net from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * WebSocket by hand over node:net, so a test can send what no client library would: any request
 * line and header fields, and frames with any opcode, length, mask and reserved bits.
 */

export interface UpgradeReply {
  /** The HTTP status, or undefined when the connection closed before a status line. */
  status?: number;
  head: string;
  socket: net.Socket;
  /** Bytes received after the response head (the first frames after a 101). */
  rest: Buffer;
}

/** Sends `head` (request line and fields, without the final blank line) and reads the response head. */
export function rawUpgrade(url: string, head: string, timeoutMs = 5_000): Promise<UpgradeReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response head within ${timeoutMs} ms to ${JSON.stringify(head.slice(0, 200))}`));
    }, timeoutMs);
    const done = (reply: Omit<UpgradeReply, 'socket'>) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve({ ...reply, socket });
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = received.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      done({ status: status ? Number(status) : undefined, head: text, rest: received.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => done({ status: undefined, head: received.toString('latin1'), rest: Buffer.alloc(0) }));
    socket.write(`${head}\r\n\r\n`, 'latin1');
  });
}

export const wsKey = () => randomBytes(16).toString('base64');

/** The request head of an ordinary WebSocket handshake, with extra or replaced fields. */
export function upgradeHead(target: string, host: string, fields: Array<[string, string]> = []): string {
  const base: Array<[string, string]> = [
    ['Host', host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Key', wsKey()],
  ];
  const replaced = new Set(fields.map(([name]) => name.toLowerCase()));
  const all = [...base.filter(([name]) => !replaced.has(name.toLowerCase())), ...fields];
  return [`GET ${target} HTTP/1.1`, ...all.map(([name, value]) => `${name}: ${value}`)].join('\r\n');
}

export interface FrameOptions {
  fin?: boolean;
  /** The three reserved bits (0..7). */
  rsv?: number;
  /** Clients must mask; false sends an unmasked frame. */
  mask?: boolean;
  /** Announce this length instead of the payload's (the payload is sent as it is). */
  declaredLength?: number;
}

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export function frame(opcode: number, payload: Buffer, options: FrameOptions = {}): Buffer {
  const fin = options.fin ?? true;
  const masked = options.mask ?? true;
  const length = options.declaredLength ?? payload.length;
  const first = (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  let header: Buffer;
  if (length < 126) header = Buffer.from([first, (masked ? 0x80 : 0) | length]);
  else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([header, key, body]);
}

export function closeFrame(code = 1000, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return frame(OPCODE.close, payload);
}

/** A frame the server sent (servers never mask). */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Splits complete server frames off the front of `buffer`; returns them and the remainder. */
export function parseServerFrames(buffer: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const opcode = buffer[offset]! & 0x0f;
    let length = buffer[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      start = offset + 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      start = offset + 10;
    }
    if (buffer.length < start + length) break;
    frames.push({ opcode, payload: buffer.subarray(start, start + length) });
    offset = start + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/**
 * Reads the connection (answering a close frame) until the server closes it, or fails after timeoutMs: a server that keeps
 * a hostile client's socket open indefinitely is a hang. Returns the frames and the close code.
 */
export function untilClosed(socket: net.Socket, initial: Buffer, timeoutMs: number): Promise<{ frames: ServerFrame[]; closeCode?: number }> {
  return new Promise((resolve, reject) => {
    let pending = initial;
    const frames: ServerFrame[] = [];
    let answered = false;
    const take = () => {
      const parsed = parseServerFrames(pending);
      frames.push(...parsed.frames);
      pending = parsed.rest;
      // A client answers the server's close frame; the server then ends the TCP connection.
      const close = parsed.frames.find((f) => f.opcode === OPCODE.close);
      if (close && !answered && !socket.destroyed) {
        answered = true;
        socket.write(frame(OPCODE.close, close.payload.subarray(0, 2)));
      }
    };
    take();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms (frames: ${frames.map((f) => f.opcode).join(',')})`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      take();
      const close = frames.find((f) => f.opcode === OPCODE.close);
      resolve({ frames, closeCode: close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined });
    };
    if (socket.destroyed) {
      finish();
      return;
    }
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      take();
    });
    socket.once('close', finish);
    socket.on('error', () => undefined);
    socket.resume();
  });
}

/** Writes, ignoring a connection the server already closed (that is an allowed answer). */
export function send(socket: net.Socket, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || !socket.writable) return resolve();
    socket.write(data, () => resolve());
  });
}
