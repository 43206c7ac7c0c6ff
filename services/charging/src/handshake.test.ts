import { handshakeRefusal } from './handshake';

describe('handshakeRefusal', () => {
  it.each([
    ['/ocpp/CP-1', undefined],
    ['/ocpp/CP-1?x=1', undefined],
    ['/ocpp/cp%2D1', undefined],
    [`/ocpp/${'a'.repeat(48)}`, undefined],
    ['/ocpp/%E0%A4%A', 400],
    ['/ocpp/%', 400],
    ['/ocpp/%00', 400],
    ['/ocpp/a%2Fb', 400],
    ['/ocpp/caf%C3%A9', 400],
    ['/ocpp/has space', 400],
    [`/ocpp/${'a'.repeat(49)}`, 400],
    ['/ocpp/', 404],
    ['/ocpp', 404],
    ['/ocpp/a/b', 404],
    ['/ocpp/a/', 404],
    ['/other/CP-1', 404],
    ['', 404],
    [undefined, 404],
  ])('%s → %s', (target, status) => {
    expect(handshakeRefusal(target, '/ocpp')?.status).toBe(status);
  });
});
