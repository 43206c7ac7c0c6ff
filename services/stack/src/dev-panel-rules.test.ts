import { cardBody, devPanelMounted, DevPanelRefused, driveBody, panelRequestRefusal, signalBody, vinParams, type DevPanelSetting } from './dev-panel-rules';

describe('whether the stack mounts the developer panel', () => {
  it.each<[DevPanelSetting, string | undefined, boolean, boolean]>([
    ['auto', 'development', true, true],
    ['auto', 'test', true, true],
    ['on', 'development', true, true],
    ['off', 'development', true, false],
    ['auto', 'development', false, false],
    ['auto', 'production', true, false],
    ['auto', undefined, true, false],
    ['auto', 'staging', true, false],
    ['off', 'production', true, false],
  ])('DEV_PANEL=%s, NODE_ENV=%s, simulators %s: mounted %s', (setting, nodeEnv, simulators, mounted) => {
    expect(devPanelMounted({ setting, nodeEnv, simulators })).toBe(mounted);
  });

  it.each<[string | undefined, boolean, RegExp]>([
    ['production', true, /NODE_ENV=production: the panel is for development only/],
    [undefined, true, /NODE_ENV=\(unset\)/],
    ['development', false, /needs the simulated cars/],
  ])('refuses DEV_PANEL=on with NODE_ENV=%s (simulators %s)', (nodeEnv, simulators, message) => {
    const start = () => devPanelMounted({ setting: 'on', nodeEnv, simulators });
    expect(start).toThrow(DevPanelRefused);
    expect(start).toThrow(message);
  });
});

describe('which requests the panel answers', () => {
  it.each<[string, string, Record<string, string>, RegExp | undefined]>([
    ['a page load on 127.0.0.1', 'GET', { host: '127.0.0.1:8089' }, undefined],
    ['a page load on localhost', 'GET', { host: 'localhost:8089' }, undefined],
    ['a page load on [::1]', 'GET', { host: '[::1]:8089' }, undefined],
    ['the panel page itself', 'POST', { host: '127.0.0.1:8089', origin: 'http://127.0.0.1:8089', 'sec-fetch-site': 'same-origin' }, undefined],
    ['curl (no page)', 'POST', { host: '127.0.0.1:8089' }, undefined],
    ['a rebound DNS name', 'GET', { host: 'evil.example:8089' }, /only on the loopback address, not evil.example:8089/],
    ['no Host at all', 'GET', {}, /without Host/],
    ['another page by fetch metadata', 'POST', { host: '127.0.0.1:8089', 'sec-fetch-site': 'cross-site' }, /A cross-site request/],
    ['another local page (same site)', 'POST', { host: '127.0.0.1:8089', 'sec-fetch-site': 'same-site' }, /A same-site request/],
    ['another origin', 'POST', { host: '127.0.0.1:8089', origin: 'http://127.0.0.1:8080' }, /page at http:\/\/127.0.0.1:8080/],
    ['an opaque origin', 'POST', { host: '127.0.0.1:8089', origin: 'null' }, /page at null/],
  ])('%s', (_name, method, headers, refusal) => {
    const answer = panelRequestRefusal(method, headers);
    if (refusal) expect(answer).toMatch(refusal);
    else expect(answer).toBeUndefined();
  });
});

describe('what the panel is sent', () => {
  it.each<[string, unknown, boolean]>([
    ['a 4-byte card', { cardUid: 'a1b2c3d4' }, true],
    ['a 7-byte card', { cardUid: '04A1B2C3D4E5F6' }, true],
    ['a 10-byte card', { cardUid: '0123456789ABCDEF0123' }, true],
    ['5 bytes', { cardUid: '0123456789' }, false],
    ['not hex', { cardUid: 'G1B2C3D4' }, false],
    ['a number', { cardUid: 12345678 }, false],
    ['an extra field', { cardUid: 'A1B2C3D4', memberId: 'x' }, false],
  ])('card: %s', (_name, body, ok) => {
    expect(cardBody.safeParse(body).success).toBe(ok);
  });

  it.each<[string, unknown, number | undefined]>([
    ['no speed: a town speed', {}, 50],
    ['walking pace', { speedKmh: 5 }, 5],
    ['the fastest allowed', { speedKmh: 150 }, 150],
    ['slower than walking', { speedKmh: 4 }, undefined],
    ['faster than a car', { speedKmh: 151 }, undefined],
    ['a fraction', { speedKmh: 60.5 }, undefined],
    ['a string', { speedKmh: '60' }, undefined],
  ])('drive speed: %s', (_name, speed, expected) => {
    const parsed = driveBody.safeParse({ stationId: '0b8c5a52-8f1e-4d7a-9a59-4a8c8f3a7c01', ...(speed as object) });
    expect(parsed.success ? parsed.data.speedKmh : undefined).toBe(expected);
  });

  it('reads a card as the platform stores it (upper case)', () => {
    expect(cardBody.parse({ cardUid: 'a1b2c3d4' })).toEqual({ cardUid: 'A1B2C3D4' });
  });

  it.each<[string, unknown, unknown, unknown, boolean]>([
    ['well formed', { vin: 'LDEMEVSHARE000001' }, { online: false }, { stationId: '0b8c5a52-8f1e-4d7a-9a59-4a8c8f3a7c01' }, true],
    ['lower case VIN, string boolean, not a UUID', { vin: 'ldemevshare000001' }, { online: 'false' }, { stationId: 'north' }, false],
    ['VIN with O, missing field, extra field', { vin: 'LDEMEVSHARE00000O' }, {}, { stationId: '0b8c5a52-8f1e-4d7a-9a59-4a8c8f3a7c01', lat: 1 }, false],
  ])('VIN, signal and drive: %s', (_name, params, signal, drive, ok) => {
    expect([vinParams.safeParse(params).success, signalBody.safeParse(signal).success, driveBody.safeParse(drive).success]).toEqual([ok, ok, ok]);
  });
});
