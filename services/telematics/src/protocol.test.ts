import { parsePayload, parseTopic, telemetrySchema, vehicleCommandSchema } from './protocol';

const VIN = 'LDEMEVSHARE000001';

describe('parseTopic', () => {
  it.each([
    [`evshare/v1/vehicles/${VIN}/telemetry`, { vin: VIN, channel: 'telemetry' }],
    [`evshare/v1/vehicles/${VIN}/status`, { vin: VIN, channel: 'status' }],
    [`evshare/v1/vehicles/${VIN}/nonsense`, undefined],
    [`evshare/v1/vehicles/${VIN}/telemetry/extra`, undefined],
    ['evshare/v1/vehicles/LDEMEVSHARE00000I/telemetry', undefined],
    [`other/v1/vehicles/${VIN}/telemetry`, undefined],
    [`evshare/v1/vehicles//telemetry`, undefined],
  ])('%s', (topic, expected) => {
    expect(parseTopic('evshare/v1', topic)).toEqual(expected);
  });
});

describe('parsePayload', () => {
  const telemetry = {
    at: '2026-01-01T00:00:00.000Z',
    lat: 31.23,
    lng: 121.47,
    speedKmh: 0,
    socPct: 80,
    odometerM: 1000,
    doorsOpen: false,
    locked: true,
    ignition: false,
    cableConnected: false,
  };
  it.each<[string, Buffer, ReturnType<typeof parsePayload>]>([
    ['valid telemetry', Buffer.from(JSON.stringify(telemetry)), { ok: true, value: telemetry }],
    ['not JSON', Buffer.from('{"at": 1'), { ok: false, reason: 'json' }],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00]), { ok: false, reason: 'json' }],
    ['latitude out of range', Buffer.from(JSON.stringify({ ...telemetry, lat: 91 })), { ok: false, reason: 'schema' }],
    ['negative odometer', Buffer.from(JSON.stringify({ ...telemetry, odometerM: -1 })), { ok: false, reason: 'schema' }],
    ['a JSON array', Buffer.from('[]'), { ok: false, reason: 'schema' }],
  ])('%s', (_name, payload, expected) => {
    expect(parsePayload(telemetrySchema, payload)).toEqual(expected);
  });

  it('commands carry an id and an expiry; unknown actions are refused', () => {
    const base = { commandId: '00000000-0000-4000-8000-000000000001', expiresAt: '2026-01-01T00:00:00.000Z' };
    expect(parsePayload(vehicleCommandSchema, Buffer.from(JSON.stringify({ ...base, action: 'unlock' }))).ok).toBe(true);
    expect(parsePayload(vehicleCommandSchema, Buffer.from(JSON.stringify({ ...base, action: 'self-destruct' })))).toEqual({ ok: false, reason: 'schema' });
    expect(parsePayload(vehicleCommandSchema, Buffer.from(JSON.stringify({ action: 'unlock' })))).toEqual({ ok: false, reason: 'schema' });
  });

  it("an operator's whitelist entry must carry its end", () => {
    const base = { commandId: '00000000-0000-4000-8000-000000000001', expiresAt: '2026-01-01T00:00:00.000Z', action: 'whitelist-full', version: 3 };
    const operator = { memberId: '00000000-0000-4000-8000-00000000000a', cardUids: ['AAAA0001'], role: 'operator' };
    const full = (entry: object) => Buffer.from(JSON.stringify({ ...base, entries: [entry] }));
    expect(parsePayload(vehicleCommandSchema, full({ ...operator, validUntil: '2026-01-01T00:30:00.000Z' })).ok).toBe(true);
    expect(parsePayload(vehicleCommandSchema, full(operator))).toEqual({ ok: false, reason: 'schema' });
    expect(parsePayload(vehicleCommandSchema, full({ ...operator, role: 'staff', validUntil: '2026-01-01T00:30:00.000Z' }))).toEqual({
      ok: false,
      reason: 'schema',
    });
  });
});
