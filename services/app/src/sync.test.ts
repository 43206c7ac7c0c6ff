import { parseSyncEtag, syncEtag } from './sync';

const id = '3f2b8c9e-1d2a-4b5c-8d7e-0a1b2c3d4e5f';

describe('sync ETag', () => {
  it('round-trips', () => {
    expect(parseSyncEtag(syncEtag(id, '42'))).toEqual({ memberId: id, version: '42' });
  });

  it.each([
    [`W/"${id}.7"`, { memberId: id, version: '7' }],
    [undefined, undefined],
    ['*', undefined],
    ['"abc.1"', undefined],
    [`"${id}.x"`, undefined],
    [`"${id}.1", "${id}.2"`, undefined],
  ])('parses %s', (header, expected) => {
    expect(parseSyncEtag(header)).toEqual(expected);
  });
});
