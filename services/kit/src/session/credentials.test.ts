import { sessionKeyFrom } from './credentials';

describe('sessionKeyFrom', () => {
  it.each([
    [{ authorization: 'Bearer abc' }, 'abc'],
    [{ cookie: 'a=1; evs_session=xyz; b=2' }, 'xyz'],
    [{ authorization: 'Basic Zm9v', cookie: 'evs_session=c' }, 'c'],
    [{ authorization: 'Bearer tok', cookie: 'evs_session=c' }, 'tok'],
    [{ cookie: 'other=1' }, undefined],
    [{}, undefined],
  ])('%j → %s', (headers, expected) => {
    expect(sessionKeyFrom(headers)).toBe(expected);
  });
});
