import net from 'node:net';

/**
 * MQTT 3.1.1 packets written by hand, so tests can send what no well-behaved client library
 * would: wrong lengths, flags, protocol names, and lengths announced but never sent.
 */
export function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return bytes;
}

const utf8 = (value: string | Buffer) => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};

export function frame(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte, ...remainingLength(body.length)]), body]);
}

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  protocolName?: string;
  protocolLevel?: number;
  /** Extra bits for the connect flags byte (e.g. 0x01, the reserved bit). */
  extraFlags?: number;
  keepalive?: number;
  clean?: boolean;
  will?: { topic: string; payload: Buffer; qos?: 0 | 1 | 2; retain?: boolean };
}

export function connectPacket(f: ConnectFields): Buffer {
  let flags = f.extraFlags ?? 0;
  if (f.clean ?? true) flags |= 0x02;
  if (f.will) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain ? 0x20 : 0);
  if (f.password !== undefined) flags |= 0x40;
  if (f.username !== undefined) flags |= 0x80;
  const keepalive = f.keepalive ?? 30;
  const parts = [utf8(f.protocolName ?? 'MQTT'), Buffer.from([f.protocolLevel ?? 4, flags, keepalive >> 8, keepalive & 0xff]), utf8(f.clientId)];
  if (f.will) parts.push(utf8(f.will.topic), utf8(f.will.payload));
  if (f.username !== undefined) parts.push(utf8(f.username));
  if (f.password !== undefined) parts.push(utf8(f.password));
  return frame(0x10, Buffer.concat(parts));
}

export function publishPacket(topic: string, payload: Buffer, options: { qos?: 0 | 1 | 2; retain?: boolean; messageId?: number } = {}): Buffer {
  const qos = options.qos ?? 0;
  const id = options.messageId ?? 1;
  return frame(
    0x30 | (qos << 1) | (options.retain ? 1 : 0),
    Buffer.concat([utf8(topic), qos > 0 ? Buffer.from([id >> 8, id & 0xff]) : Buffer.alloc(0), payload]),
  );
}

export function subscribePacket(topic: string, qos: 0 | 1 | 2, messageId = 1): Buffer {
  return frame(0x82, Buffer.concat([Buffer.from([messageId >> 8, messageId & 0xff]), utf8(topic), Buffer.from([qos])]));
}

/** A raw TCP client that records what the broker answers and when it closes the connection. */
export interface RawClient {
  socket: net.Socket;
  received: () => Buffer;
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Writes, resolving once written (true), or the connection closed or the broker stopped reading for 3 s (false). */
  write(bytes: Buffer): Promise<boolean>;
  /** Resolves once `predicate` holds for what was received, or the connection closed, or the time passed. */
  until(predicate: (received: Buffer) => boolean, timeoutMs: number): Promise<void>;
  destroy(): void;
}

export async function rawClient(port: number, host = '127.0.0.1'): Promise<RawClient> {
  const socket = net.connect(port, host);
  const chunks: Buffer[] = [];
  let isClosed = false;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    notify();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      notify();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
  const received = () => Buffer.concat(chunks);
  return {
    socket,
    received,
    closed,
    isClosed: () => isClosed,
    write: (bytes) =>
      new Promise((resolve) => {
        if (isClosed || socket.destroyed) return resolve(false);
        const timer = setTimeout(() => resolve(false), 3_000);
        socket.write(bytes, (error) => {
          clearTimeout(timer);
          resolve(!error);
        });
      }),
    until: (predicate, timeoutMs) =>
      new Promise((resolve) => {
        const check = () => {
          if (isClosed || predicate(received())) done();
        };
        const timer = setTimeout(() => done(), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
      }),
    destroy: () => socket.destroy(),
  };
}

/** The CONNACK return code in what was received, if a CONNACK came first. */
export function connackCode(received: Buffer): number | undefined {
  return received.length >= 4 && received[0] === 0x20 && received[1] === 0x02 ? received[3] : undefined;
}
