/**
 * 32-bit FNV-1a over the string's UTF-16 code units, finished with MurmurHash3's fmix32.
 * FNV-1a alone is fast but mixes short, similar keys ("10.0.0.1" vs "10.0.0.2", "app-1#17")
 * poorly in its high bits, which is where a ring position lives; the finalizer fixes that.
 * Addresses are ASCII, so code units are bytes. Measured in ring.test.ts.
 */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
