import type { IHandlersOption } from 'ocpp-rpc';
import { eventually } from '../support/http';
import { startChargingBench, type ChargingBench } from './support';

describe('charging: reserved charging, operator control and the HTTP API', () => {
  let bench: ChargingBench;

  beforeAll(async () => {
    // ReserveNow goes out two minutes before a slot, so a slot starting now is due at once.
    bench = await startChargingBench({ piles: 3, env: { RESERVATION_LEAD_MS: '120000' } });
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
  });

  const connect = async (index: number, handlers: Record<string, (params: IHandlersOption['params']) => Record<string, unknown>>) => {
    const client = bench.client(bench.piles[index]!);
    const calls: Array<{ method: string; params: IHandlersOption['params'] }> = [];
    for (const [method, handler] of Object.entries(handlers)) {
      client.handle(method, async ({ params }) => {
        calls.push({ method, params });
        return handler(params);
      });
    }
    await client.connect();
    await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
    await eventually(async () => {
      const { rows } = await bench.db.query('SELECT instance_id FROM piles WHERE id = $1', [bench.piles[index]!.id]);
      expect(rows[0].instance_id).toBe('charging-a');
    });
    return { client, calls };
  };
  const reservation = async (id: string) =>
    (
      await bench.db.query<{ status: string; reserveSentAt: Date | null }>(
        'SELECT status, reserve_sent_at AS "reserveSentAt" FROM charging_reservations WHERE id = $1',
        [id],
      )
    ).rows[0]!;

  it('reserved charging: ReserveNow before the slot, CancelReservation when it ends unused', async () => {
    const { client, calls } = await connect(0, { ReserveNow: () => ({ status: 'Accepted' }), CancelReservation: () => ({ status: 'Accepted' }) });
    try {
      const pile = bench.piles[0]!;
      const booked = await bench.api('POST', '/api/v1/charging/reservations', bench.member.key, {
        pileId: pile.id,
        slotStart: new Date(Date.now() + 60_000).toISOString(),
        slotEnd: new Date(Date.now() + 62_000).toISOString(),
        vehicleId: bench.vehicles[0]!.id,
        energyWh: 10_000,
      });
      expect(booked.status).toBe(201);
      const body = booked.json<{ id: string; idTag: string; ocppReservationId: number; status: string }>();
      expect(body).toMatchObject({ status: 'booked', idTag: bench.member.card, pileId: pile.id });
      // An overlapping booking of the same pile is refused.
      const overlap = await bench.api('POST', '/api/v1/charging/reservations', bench.admin.key, {
        pileId: pile.id,
        slotStart: new Date(Date.now() + 61_000).toISOString(),
        slotEnd: new Date(Date.now() + 600_000).toISOString(),
      });
      expect(overlap.status).toBe(409);
      expect(overlap.json()).toMatchObject({ type: 'urn:evshare:problem:slot-taken' });

      await eventually(() => expect(calls.find((c) => c.method === 'ReserveNow')).toBeDefined(), 5_000);
      expect(calls.find((c) => c.method === 'ReserveNow')!.params).toEqual({
        connectorId: 1,
        expiryDate: expect.any(String),
        idTag: bench.member.card,
        reservationId: body.ocppReservationId,
      });
      await eventually(async () => expect((await reservation(body.id)).status).toBe('reserved'));

      // Nobody came: at the slot's end the reservation expires and the pile is told.
      await bench.db.query(`UPDATE charging_reservations SET slot_start = now() - interval '2 seconds', slot_end = now() WHERE id = $1`, [body.id]);
      await eventually(() => expect(calls.find((c) => c.method === 'CancelReservation')).toBeDefined(), 5_000);
      expect(calls.find((c) => c.method === 'CancelReservation')!.params).toEqual({ reservationId: body.ocppReservationId });
      expect((await reservation(body.id)).status).toBe('expired');
      expect(calls.filter((c) => c.method === 'ReserveNow')).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('a member cancels a reserved slot: CancelReservation at once; cancelling again is a conflict', async () => {
    const { client, calls } = await connect(1, { ReserveNow: () => ({ status: 'Accepted' }), CancelReservation: () => ({ status: 'Accepted' }) });
    try {
      const booked = await bench.api('POST', '/api/v1/charging/reservations', bench.member.key, {
        pileId: bench.piles[1]!.id,
        slotStart: new Date(Date.now() + 30_000).toISOString(),
        slotEnd: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const id = booked.json<{ id: string }>().id;
      await eventually(async () => expect((await reservation(id)).status).toBe('reserved'));
      const stranger = await bench.createMember();
      expect((await bench.api('POST', `/api/v1/charging/reservations/${id}/cancel`, stranger.key)).status).toBe(404);
      const cancelled = await bench.api('POST', `/api/v1/charging/reservations/${id}/cancel`, bench.member.key);
      expect(cancelled.json()).toEqual({ id, status: 'cancelled', pileStatus: 'Accepted' });
      expect(calls.map((c) => c.method)).toEqual(['ReserveNow', 'CancelReservation']);
      const again = await bench.api('POST', `/api/v1/charging/reservations/${id}/cancel`, bench.member.key);
      expect(again.status).toBe(409);
      const mine = await bench.api('GET', '/api/v1/charging/reservations', bench.member.key);
      expect(mine.json<{ items: Array<{ id: string; status: string }> }>().items.find((r) => r.id === id)).toMatchObject({ status: 'cancelled' });
    } finally {
      await client.close();
    }
  });

  it('operator disables a pile: ChangeAvailability Inoperative; members may not; re-sent at the next boot', async () => {
    const { client, calls } = await connect(2, { ChangeAvailability: () => ({ status: 'Accepted' }) });
    const pile = bench.piles[2]!;
    try {
      const forbidden = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/availability`, bench.member.key, { enabled: false });
      expect(forbidden.status).toBe(403);
      const disabled = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/availability`, bench.admin.key, { enabled: false });
      expect(disabled.json()).toEqual({ id: pile.id, enabled: false, pileStatus: 'Accepted' });
      expect(calls).toEqual([{ method: 'ChangeAvailability', params: { connectorId: 0, type: 'Inoperative' } }]);
      // A disabled pile takes no bookings.
      const booking = await bench.api('POST', '/api/v1/charging/reservations', bench.member.key, {
        pileId: pile.id,
        slotStart: new Date(Date.now() + 3_600_000).toISOString(),
        slotEnd: new Date(Date.now() + 7_200_000).toISOString(),
      });
      expect(booking.status).toBe(409);
      // The pile reboots and forgot: told again.
      await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
      await eventually(() => expect(calls).toHaveLength(2));
      expect(calls[1]).toEqual({ method: 'ChangeAvailability', params: { connectorId: 0, type: 'Inoperative' } });
      const enabled = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/availability`, bench.admin.key, { enabled: true });
      expect(enabled.json()).toMatchObject({ enabled: true, pileStatus: 'Accepted' });
      expect(calls[2]).toEqual({ method: 'ChangeAvailability', params: { connectorId: 0, type: 'Operative' } });

      const list = await bench.api('GET', '/api/v1/charging/piles', bench.admin.key);
      expect(list.json<{ items: Array<{ id: string; enabled: boolean; state: string }> }>().items.find((p) => p.id === pile.id)).toMatchObject({
        enabled: true,
      });
    } finally {
      await client.close();
    }
  });

  it('answers bad input with problem+json naming the field', async () => {
    const problem = async (method: string, path: string, key: string | undefined, body: unknown, status: number) => {
      const reply = await bench.api(method, path, key, body);
      expect(reply.status).toBe(status);
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      return reply.json<{ type: string; 'invalid-params'?: Array<{ name: string }> }>();
    };
    expect((await problem('GET', '/api/v1/charging/piles', undefined, undefined, 401)).type).toBe('urn:evshare:problem:unauthenticated');
    const names = async (body: unknown) =>
      (await problem('POST', '/api/v1/charging/reservations', bench.member.key, body, 400))['invalid-params']!.map((p) => p.name).sort();
    expect(await names({ pileId: 'bad id!', slotStart: 'tomorrow', slotEnd: 'later' })).toEqual(['body.pileId', 'body.slotEnd', 'body.slotStart']);
    expect(
      await names({
        pileId: bench.piles[0]!.id,
        slotStart: new Date(Date.now() + 7_200_000).toISOString(),
        slotEnd: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    ).toEqual(['body.slotEnd']);
    expect(
      await names({ pileId: bench.piles[0]!.id, slotStart: new Date().toISOString(), slotEnd: new Date(Date.now() + 60_000).toISOString(), extra: 1 }),
    ).toEqual(['body']);
    expect(await names({ pileId: 'NOPE', slotStart: new Date().toISOString(), slotEnd: new Date(Date.now() + 60_000).toISOString() })).toEqual(['body.pileId']);
    expect(
      await names({ pileId: bench.piles[0]!.id, slotStart: new Date().toISOString(), slotEnd: new Date(Date.now() + 60_000).toISOString(), vehicleId: 'x' }),
    ).toEqual(['body.vehicleId']);
    expect(
      (await problem('POST', `/api/v1/charging/piles/${bench.piles[0]!.id}/availability`, bench.admin.key, { enabled: 'no' }, 400))['invalid-params']![0]!.name,
    ).toBe('body.enabled');
    expect((await problem('POST', `/api/v1/charging/piles/${bench.piles[0]!.id}/ocpp/Coffee`, bench.admin.key, {}, 400))['invalid-params']![0]!.name).toBe(
      'path.action',
    );
    expect((await problem('POST', '/api/v1/charging/reservations/not-a-uuid/cancel', bench.member.key, undefined, 400))['invalid-params']![0]!.name).toBe(
      'path.id',
    );
    expect((await problem('GET', '/api/v1/charging/piles/NOPE', bench.admin.key, undefined, 404)).type).toBe('urn:evshare:problem:not-found');
    const raw = await fetch(`${bench.charging.url}/api/v1/charging/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bench.member.key}`, 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { type: string }).type).toBe('urn:evshare:problem:malformed-json');
  });
});
