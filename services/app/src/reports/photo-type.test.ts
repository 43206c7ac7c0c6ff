import { mediaTypeOf, sniffPhotoType } from './photo-type';

const bytes = (...parts: Array<number[] | string>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffPhotoType', () => {
  it.each([
    ['a JPEG (JFIF)', bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF'), 'image/jpeg'],
    ['a JPEG (Exif)', bytes([0xff, 0xd8, 0xff, 0xe1], 'Exif'), 'image/jpeg'],
    ['a PNG', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR'), 'image/png'],
    ['a WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
    ['a PDF', bytes('%PDF-1.7\n'), undefined],
    ['a GIF', bytes('GIF89a'), undefined],
    ['a WAV (RIFF, not WebP)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '), undefined],
    ['a PNG signature cut short', bytes([0x89, 0x50, 0x4e, 0x47]), undefined],
    ['two JPEG bytes', bytes([0xff, 0xd8]), undefined],
    ['text claiming to be an image', bytes('image/jpeg'), undefined],
    ['nothing', bytes(), undefined],
  ])('%s → %s', (_name, data, expected) => {
    expect(sniffPhotoType(data)).toBe(expected);
  });
});

describe('mediaTypeOf', () => {
  it.each([
    ['image/jpeg', 'image/jpeg'],
    ['IMAGE/PNG; charset=binary', 'image/png'],
    [' image/webp ', 'image/webp'],
    [undefined, ''],
  ])('%s → %s', (header, expected) => {
    expect(mediaTypeOf(header)).toBe(expected);
  });
});
