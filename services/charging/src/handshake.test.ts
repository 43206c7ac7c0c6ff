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
    expect(handshakeRefusal(target, 'ocpp1.6', '/ocpp')?.status).toBe(status);
  });

  it.each([
    [undefined, undefined],
    ['ocpp1.6', undefined],
    ['ocpp1.6, ocpp2.0.1', undefined],
    ['ocpp1.6,\tocpp2.0.1 ', undefined],
    ['', 400],
    [',', 400],
    ['ocpp1.6,,ocpp2.0.1', 400],
    ['ocpp1.6 ocpp2.0.1', 400],
    ['ocpp1.6, ocpp1.6', 400],
    ['ocpp(1.6)', 400],
  ])('subprotocols %j → %s', (protocols, status) => {
    expect(handshakeRefusal('/ocpp/CP-1', protocols, '/ocpp')?.status).toBe(status);
  });
});
