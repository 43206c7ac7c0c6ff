import { sessionCredentialFrom, sessionKeyFrom } from './credentials';

describe('sessionKeyFrom', () => {
  it.each([
    [{ authorization: 'Bearer abc' }, 'abc'],
    [{ cookie: 'a=1; evs_session=xyz; b=2' }, 'xyz'],
    [{ authorization: 'Basic Zm9v', cookie: 'evs_session=c' }, 'c'],
    [{ authorization: 'Bearer tok', cookie: 'evs_session=c' }, 'tok'],
    [{ cookie: 'other=1' }, undefined],
    [{}, undefined],
    [{ cookie: 'evs_session=a%20b' }, 'a b'],
    // Malformed percent-encoding is no session (it used to throw a URIError).
    [{ cookie: 'evs_session=%E0%A4%A' }, undefined],
    [{ cookie: 'evs_session=%' }, undefined],
    [{ cookie: 'evs_session=%E0%A4%A; evs_session=good' }, undefined],
    [{ cookie: 'EVS_SESSION=x' }, undefined],
    [{ cookie: 'evs_session=' }, ''],
  ])('%j → %s', (headers, expected) => {
    expect(sessionKeyFrom(headers)).toBe(expected);
  });

  it('names where the key came from', () => {
    expect(sessionCredentialFrom({ authorization: 'Bearer k' })?.source).toBe('bearer');
    expect(sessionCredentialFrom({ cookie: 'evs_session=k' })?.source).toBe('cookie');
  });
});
