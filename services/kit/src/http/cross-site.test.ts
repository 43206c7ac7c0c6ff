import { crossSiteRefusal } from './cross-site';

const cookie = 'evs_session=k';
const refused = (method: string, headers: Record<string, string>, allowed: string[] = [], host = 'evshare.example') =>
  crossSiteRefusal(method, headers, host, allowed) !== undefined;

describe('crossSiteRefusal', () => {
  it.each([
    // [method, headers, allowed origins, refused]
    ['POST', { cookie, 'sec-fetch-site': 'same-origin', origin: 'https://evshare.example' }, [], false],
    ['POST', { cookie, 'sec-fetch-site': 'none' }, [], false],
    ['POST', { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, [], true],
    ['DELETE', { cookie, 'sec-fetch-site': 'same-site', origin: 'https://other.evshare.example' }, [], true],
    ['POST', { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://console.example' }, ['https://console.example'], false],
    ['POST', { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, ['https://console.example'], true],
    // No Fetch Metadata: the Origin against the host.
    ['POST', { cookie, origin: 'https://evshare.example' }, [], false],
    ['POST', { cookie, origin: 'http://EVSHARE.example' }, [], false],
    ['PUT', { cookie, origin: 'https://evil.example' }, [], true],
    ['PATCH', { cookie, origin: 'null' }, [], true],
    ['POST', { cookie, origin: 'https://evshare.example:8443' }, [], true],
    ['POST', { cookie }, [], false],
    // Not cookie-authenticated, or not state-changing: not checked.
    ['POST', { authorization: 'Bearer k', cookie, origin: 'https://evil.example' }, [], false],
    ['POST', { origin: 'https://evil.example' }, [], false],
    ['POST', { cookie: 'evs_session=%E0%A4%A', origin: 'https://evil.example' }, [], false],
    ['GET', { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, [], false],
    ['OPTIONS', { cookie, origin: 'https://evil.example' }, [], false],
  ])('%s %j (allowed %j) → refused %s', (method, headers, allowed, expected) => {
    expect(refused(method, headers, allowed)).toBe(expected);
  });

  it('compares with the port the request was addressed to', () => {
    expect(refused('POST', { cookie, origin: 'http://127.0.0.1:8080' }, [], '127.0.0.1:8080')).toBe(false);
    expect(refused('POST', { cookie, origin: 'http://127.0.0.1:9999' }, [], '127.0.0.1:8080')).toBe(true);
    expect(crossSiteRefusal('POST', { cookie, origin: 'http://a' }, undefined, [])).toBeDefined();
  });
});
