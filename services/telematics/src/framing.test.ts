import { createFrameGuard } from './framing';

/** A packet's fixed header: type nibble, flags, then the remaining length as MQTT encodes it. */
function header(type: number, length: number, flags = 0): number[] {
  const bytes = [(type << 4) | flags];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return bytes;
}
const packet = (type: number, length: number) => Uint8Array.from([...header(type, length), ...new Array<number>(length).fill(0)]);

describe('createFrameGuard', () => {
  it.each([
    ['a CONNECT within the cap', [packet(1, 100)], undefined],
    ['a CONNECT then a PUBLISH and a PINGREQ', [packet(1, 10), packet(3, 50), packet(12, 0)], undefined],
    ['a CONNECT announcing 200 MiB', [Uint8Array.from(header(1, 200 * 1024 * 1024))], 'oversize'],
    ['a CONNECT one byte over the cap', [Uint8Array.from(header(1, 1025))], 'oversize'],
    ['a PUBLISH first', [packet(3, 10)], 'not-connect'],
    ['a five-byte remaining length', [Uint8Array.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01])], 'malformed'],
    ['an oversized PUBLISH after a CONNECT', [packet(1, 10), Uint8Array.from(header(3, 5000))], 'oversize'],
    ['a second CONNECT', [packet(1, 10), packet(1, 10)], 'malformed'],
    ["a server's packet (CONNACK) from the client", [packet(1, 10), packet(2, 2)], 'malformed'],
    ['a reserved packet type', [packet(1, 10), Uint8Array.of(0x00, 0x80)], 'malformed'],
    ['every client packet type after a CONNECT', [packet(1, 10), ...[3, 4, 5, 6, 7, 8, 10, 12, 14].map((t) => packet(t, 2))], undefined],
  ] as const)('%s', (_name, chunks, expected) => {
    const guard = createFrameGuard(() => 1024);
    expect(chunks.map((c) => guard.feed(c)).find((v) => v !== undefined)).toBe(expected);
  });

  it('follows packets split at every byte', () => {
    const guard = createFrameGuard(() => 1024);
    const bytes = [...packet(1, 300), ...packet(3, 1000), ...header(3, 2000)];
    const verdicts = bytes.map((b) => guard.feed(Uint8Array.of(b)));
    // Refused at the second byte of the third packet's length (2000 = 0xD0 0x0F), not before.
    expect(verdicts.findIndex((v) => v !== undefined)).toBe(bytes.length - 1);
    expect(verdicts.at(-1)).toBe('oversize');
  });

  it('reads the limit at each packet (raised after authentication)', () => {
    let limit = 100;
    const guard = createFrameGuard(() => limit);
    expect(guard.feed(packet(1, 90))).toBeUndefined();
    limit = 10_000;
    expect(guard.feed(packet(3, 5_000))).toBeUndefined();
  });
});
