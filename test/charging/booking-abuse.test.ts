/**
 * Attack: one member holding the piles. Bookings are capped per member and may start only within
 * the booking horizon; answers are problem+json naming the limit and the field.
 */
import { startChargingBench, type ChargingBench } from './support';

describe('booking abuse', () => {
  let bench: ChargingBench;
  beforeAll(async () => {
    bench = await startChargingBench({
      piles: 4,
      env: { CHARGING_BOOKINGS_PER_MEMBER: '2', CHARGING_BOOKING_HORIZON_MS: '3600000', RESERVATION_LEAD_MS: '60000' },
    });
  });
  afterAll(() => bench?.stop());

  const slot = (startInMs: number, lengthMs = 30 * 60_000) => ({
    slotStart: new Date(Date.now() + startInMs).toISOString(),
    slotEnd: new Date(Date.now() + startInMs + lengthMs).toISOString(),
  });

  it('booking cap: of 4 parallel bookings on different piles, a member gets exactly the cap, the rest 409 naming the limit', async () => {
    const member = await bench.createMember();
    const replies = await Promise.all(
      bench.piles.map((pile) => bench.api('POST', '/api/v1/charging/reservations', member.key, { pileId: pile.id, ...slot(20 * 60_000) })),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 201, 409, 409]);
    for (const refused of replies.filter((r) => r.status === 409)) {
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.json()).toMatchObject({ type: 'urn:evshare:problem:booking-limit', limit: 2, 'invalid-params': [{ name: 'session.memberId' }] });
    }
    // Cancelling one frees a place; an operator is not limited.
    const booked = replies.filter((r) => r.status === 201).map((r) => r.json<{ id: string; pileId: string }>());
    expect((await bench.api('POST', `/api/v1/charging/reservations/${booked[0]!.id}/cancel`, member.key)).status).toBe(200);
    const free = bench.piles.find((p) => !booked.some((b) => b.pileId === p.id))!;
    expect((await bench.api('POST', '/api/v1/charging/reservations', member.key, { pileId: free.id, ...slot(20 * 60_000) })).status).toBe(201);
    expect((await bench.api('POST', '/api/v1/charging/reservations', member.key, { pileId: booked[0]!.pileId, ...slot(20 * 60_000) })).status).toBe(409);
    expect(
      (await bench.api('POST', '/api/v1/charging/reservations', bench.admin.key, { pileId: booked[0]!.pileId, memberId: member.id, ...slot(20 * 60_000) }))
        .status,
    ).toBe(201);
  });

  it('booking horizon: a slot starting beyond it is 422 naming body.slotStart, and nothing is booked', async () => {
    const member = await bench.createMember();
    const pile = bench.piles[0]!;
    const far = await bench.api('POST', '/api/v1/charging/reservations', member.key, { pileId: pile.id, ...slot(2 * 3600_000) });
    expect(far.status).toBe(422);
    expect(far.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(far.json()).toMatchObject({ type: 'urn:evshare:problem:booking-horizon', horizonMs: 3600_000, 'invalid-params': [{ name: 'body.slotStart' }] });
    const { rows } = await bench.db.query('SELECT 1 FROM charging_reservations WHERE member_id = $1', [member.id]);
    expect(rows).toEqual([]);
  });
});
