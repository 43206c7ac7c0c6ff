import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { FrameGuard, FrameRefusal } from './framing';

/**
 * A client's socket as the broker sees it: every chunk passes the frame guard first, and a refused
 * one closes the socket without reaching the MQTT parser. Backpressure is the socket's own.
 */
export function guardedStream(socket: Socket, guard: FrameGuard, onRefused: (reason: FrameRefusal) => void): Duplex {
  const stream: Duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const refused = guard.feed(chunk);
    if (refused) {
      onRefused(refused);
      socket.destroy();
      stream.destroy();
      return;
    }
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('error', (error) => stream.destroy(error));
  socket.on('close', () => stream.destroy());
  return stream;
}

/** Two connected in-memory ends: what one writes the other reads (the service's own link to its broker). */
export function memoryPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
      destroy(error, callback) {
        if (!peer().destroyed) peer().destroy();
        callback(error);
      },
    });
  ends.push(
    end(() => ends[1]!),
    end(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
