import { chargingPeriods, planCharging, PlannerInputError, type PlannerInput, type PlannerResult, type UnmetReason } from './index';
import { car, input, SHANGHAI_LIKE } from './testing';

const VALLEY_FIRST_SLOT = 16; // 22:00 Shanghai = 14:00Z, 16 slots after the 10:00Z start
const VALLEY_END_SLOT = 48; // 06:00 Shanghai

function loads(result: PlannerResult): number[] {
  const out = new Array<number>(result.schedules[0]?.slots.length ?? 0).fill(0);
  for (const s of result.schedules) s.slots.forEach((slot, i) => (out[i]! += slot.powerW));
  return out;
}

function chargedSlots(result: PlannerResult, pile: string): number[] {
  const schedule = result.schedules.find((s) => s.pileId === pile)!;
  return schedule.slots.flatMap((slot, i) => (slot.powerW > 0 ? [i] : []));
}

describe('planCharging', () => {
  test('no cars: an empty plan', () => {
    expect(planCharging(input([]))).toEqual({ schedules: [], costFen: 0, unmet: [] });
  });

  test('a car already at its target is not charged', () => {
    const result = planCharging(input([car(1, { socPct: 80, targetSocPct: 80, departure: '2026-11-26T20:00:00Z' })]));
    expect(result.schedules[0]).toMatchObject({ energyWh: 0, storedWh: 0, targetWh: 0, costFen: 0, meetsDeadline: true });
    expect(result.unmet).toEqual([]);
  });

  test('one car charges only in the valley when it can, at its full power, and pays the valley price', () => {
    // 40 kWh to store at 90 % efficiency: 44,444 Wh from the grid (a full battery takes no more), 7 kW = 1,750 Wh per slot.
    const result = planCharging(input([car(1, { departure: '2026-11-26T22:00:00Z' })]));
    const s = result.schedules[0]!;
    expect(s).toMatchObject({ targetWh: 40_000, storedWh: 40_000, energyWh: 44_444, shortfallWh: 0, meetsDeadline: true, deadline: '2026-11-26T22:00:00Z' });
    const slots = chargedSlots(result, 'P1');
    expect(slots[0]).toBe(VALLEY_FIRST_SLOT);
    expect(slots.every((i) => i >= VALLEY_FIRST_SLOT && i < VALLEY_END_SLOT)).toBe(true);
    expect(s.slots.filter((x) => x.powerW === 7_000)).toHaveLength(25);
    expect(s.costFen).toBe(25 * 54 + 22); // rounded per slot: 1,750 Wh × 0.31 = 54.25 fen, then 694 Wh = 21.5 fen
    expect(result.costFen).toBe(s.costFen);
  });

  test('a booking needs only its energy plus the margin', () => {
    // 20 kWh needed + 10 % = 22 kWh in the battery; it holds 10 kWh (20 % of 50 kWh): store 12 kWh.
    const result = planCharging(input([car(1, { neededWh: 20_000, departure: '2026-11-26T21:00:00Z' })]));
    expect(result.schedules[0]).toMatchObject({ targetWh: 12_000, storedWh: 12_000, energyWh: 13_334 });
    const custom = planCharging(input([car(1, { neededWh: 20_000, departure: '2026-11-26T21:00:00Z' })], { marginPct: 0 }));
    expect(custom.schedules[0]!.targetWh).toBe(10_000);
  });

  test('cap binding: the cars share the cheap slots, never exceed the cap, and all meet their deadlines', () => {
    // Each stores 25 kWh + 10 % - 10 kWh = 17.5 kWh: 19,445 Wh from the grid, 77,780 Wh in all; the
    // valley (32 slots × 2,250 Wh at 9 kW) takes 72,000 Wh, the rest goes to the flat hour before it.
    const cars = [1, 2, 3, 4].map((n) => car(n, { departure: '2026-11-26T22:00:00Z', neededWh: 25_000 }));
    const result = planCharging(input(cars, { stationCapW: 9_000, readyBeforeMinutes: 0 }));
    expect(result.unmet).toEqual([]);
    const l = loads(result);
    expect(Math.max(...l)).toBeLessThanOrEqual(9_000);
    for (let i = VALLEY_FIRST_SLOT; i < VALLEY_END_SLOT; i++) expect(l[i]).toBe(9_000);
    expect(l.slice(12, VALLEY_FIRST_SLOT).reduce((a, b) => a + b, 0)).toBe(5_780 * 4);
    expect(l.slice(0, 12).every((w) => w === 0)).toBe(true); // no peak (18:00-21:00 local)
  });

  test('ready early: the cars finish 30 minutes before departure when that costs no deadline', () => {
    const cars = [1, 2, 3, 4].map((n) => car(n, { departure: '2026-11-26T22:00:00Z', neededWh: 25_000 }));
    const at = (readyBeforeMinutes?: number) =>
      planCharging(input(cars, { stationCapW: 9_000, ...(readyBeforeMinutes === undefined ? {} : { readyBeforeMinutes }) }));
    const buffered = at();
    expect(buffered.unmet).toEqual([]);
    // Nothing in the last two slots before 22:00Z; a little more of the flat hour and the peak instead.
    expect(loads(buffered).slice(46)).toEqual([0, 0]);
    expect(buffered.costFen).toBeGreaterThan(at(0).costFen);
    // When the buffer would cost a deadline, it is not applied to that car.
    const tight = planCharging(input([car(1, { departure: '2026-11-26T12:00:00Z', neededWh: 20_000 })], { stationCapW: 9_000 }));
    expect(tight.schedules[0]).toMatchObject({ energyWh: 13_334, meetsDeadline: true });
    expect(tight.schedules[0]!.slots.slice(0, 8).filter((s) => s.powerW > 0)).toHaveLength(8);
  });

  test('cap: the car leaving first is served first; the later one is short and told why', () => {
    const early = car(1, { departure: '2026-11-26T12:00:00Z' }); // 8 slots
    const late = car(2, { departure: '2026-11-26T13:00:00Z' }); // 12 slots
    const result = planCharging(input([late, early], { stationCapW: 7_000 }));
    // 12 slots × 1,750 Wh = 21,000 Wh for both; the early car needs 44,445 Wh but can take only 8 × 1,750.
    const byPile = Object.fromEntries(result.schedules.map((s) => [s.pileId, s]));
    expect(byPile.P1!.energyWh).toBe(14_000);
    expect(byPile.P2!.energyWh).toBe(7_000);
    expect(result.unmet.map((u) => [u.pileId, u.reason])).toEqual([
      ['P2', 'cap'],
      ['P1', 'car-power'],
    ]);
    expect(result.unmet.find((u) => u.pileId === 'P2')!.message).toMatch(/station cap of 7000 W/);
  });

  test.each<[string, Partial<PlannerInput>, Parameters<typeof car>[1], UnmetReason, number]>([
    ['departure already passed', {}, { departure: '2026-11-26T09:00:00Z' }, 'time', 40_000],
    ['departure inside the first slot', {}, { departure: '2026-11-26T10:10:00Z' }, 'time', 40_000],
    // 8 slots × 1,750 Wh = 14,000 Wh × 0.9 = 12,600 Wh stored of 40,000
    ['too little time at the car power', {}, { departure: '2026-11-26T12:00:00Z' }, 'car-power', 27_400],
    // -10 °C: 50 % power (875 Wh per slot), 80 % efficiency; 20 slots: 17,500 Wh grid = 14,000 Wh stored of
    // 20,000 needed (22 kWh with margin - 2 kWh in the battery). At 20 °C 35,000 Wh would do.
    ['cold', { ambientC: -10 }, { socPct: 4, neededWh: 20_000, departure: '2026-11-26T15:00:00Z' }, 'cold', 6_000],
    ['a booking needing more than the battery', {}, { neededWh: 60_000, departure: '2026-11-26T22:00:00Z' }, 'battery', 10_000],
  ])('unmeetable deadline: %s', (_, over, carOver, reason, shortfallWh) => {
    const result = planCharging(input([car(1, carOver)], over));
    expect(result.unmet).toEqual([{ pileId: 'P1', vehicleId: 'V1', reason, shortfallWh, message: expect.stringContaining('V1') }]);
    expect(result.schedules[0]!.meetsDeadline).toBe(false);
  });

  test('an unmeetable car still gets all it can take, and the others are not harmed', () => {
    const hopeless = car(1, { departure: '2026-11-26T11:00:00Z' });
    const fine = car(2, { departure: '2026-11-26T22:00:00Z', neededWh: 20_000 });
    const result = planCharging(input([hopeless, fine], { stationCapW: 10_000 }));
    expect(result.schedules[0]!.energyWh).toBe(4 * 1_750);
    expect(result.schedules[1]!.meetsDeadline).toBe(true);
    expect(result.unmet.map((u) => u.pileId)).toEqual(['P1']);
  });

  test('cold weather: derated power and more grid energy for the same stored energy', () => {
    const at = (ambientC: number) => planCharging(input([car(1, { departure: '2026-11-26T22:00:00Z', neededWh: 20_000 })], { ambientC })).schedules[0]!;
    const warm = at(20);
    const cold = at(-10);
    expect(cold.storedWh).toBe(warm.storedWh);
    expect(cold.energyWh).toBe(Math.ceil(12_000 / 0.8));
    expect(warm.energyWh).toBe(Math.ceil(12_000 / 0.9));
    expect(Math.max(...cold.slots.map((s) => s.powerW))).toBe(3_500);
    expect(cold.costFen).toBeGreaterThan(warm.costFen);
  });

  test('no deadline: charges in the cheapest slots of the horizon, after the cars with deadlines', () => {
    const result = planCharging(input([car(1, { socPct: 60 }), car(2, { departure: '2026-11-26T22:00:00Z', neededWh: 20_000 })], { stationCapW: 7_000 }));
    expect(result.schedules[0]).toMatchObject({ deadline: null, meetsDeadline: true, storedWh: 20_000 });
    expect(chargedSlots(result, 'P1').every((i) => i >= VALLEY_FIRST_SLOT)).toBe(true);
    expect(result.schedules[1]!.meetsDeadline).toBe(true);
    expect(result.unmet).toEqual([]);
  });

  test("no deadline: a shortfall by the horizon's end is shown on the schedule, not as an unmet deadline", () => {
    const result = planCharging(input([car(1)], { stationCapW: 1_000 }));
    expect(result.schedules[0]).toMatchObject({ meetsDeadline: false, energyWh: 48 * 250 });
    expect(result.schedules[0]!.shortfallWh).toBe(40_000 - 48 * 250 * 0.9);
    expect(result.unmet).toEqual([]);
  });

  test('a departure beyond the horizon is charged within it, reported only if the time after the horizon cannot make up the rest', () => {
    const beyond = planCharging(input([car(1, { departure: '2026-11-27T12:00:00Z' })], { horizonSlots: 8, stationCapW: 7_000 }));
    expect(beyond.schedules[0]!.energyWh).toBe(8 * 1_750);
    expect(beyond.unmet).toEqual([]);
    const tooLate = planCharging(input([car(1, { departure: '2026-11-26T13:00:00Z' })], { horizonSlots: 8 }));
    expect(tooLate.unmet[0]).toMatchObject({ reason: 'car-power', shortfallWh: 40_000 - Math.floor(12 * 1_750 * 0.9) });
  });

  test('the station cap and the car power are never exceeded, even when the cap is not a multiple of the slot energy', () => {
    const cars = [1, 2, 3].map((n) => car(n, { maxPowerW: 7_003, departure: '2026-11-26T20:00:00Z' }));
    const result = planCharging(input(cars, { stationCapW: 10_001 }));
    expect(Math.max(...loads(result))).toBeLessThanOrEqual(10_001);
    for (const s of result.schedules) expect(Math.max(...s.slots.map((x) => x.powerW))).toBeLessThanOrEqual(7_003);
  });

  test('a pile minimum power: no slot below it, the same energy', () => {
    // 13,334 Wh at 1,750 Wh per slot leaves 1,084 Wh (4,336 W) for a last slot, under a 4,800 W minimum.
    const result = planCharging(input([car(1, { neededWh: 20_000, departure: '2026-11-26T22:00:00Z', minPowerW: 4_800 })]));
    const powers = result.schedules[0]!.slots.map((s) => s.powerW).filter((p) => p > 0);
    expect(Math.min(...powers)).toBeGreaterThanOrEqual(4_800);
    expect(result.schedules[0]).toMatchObject({ energyWh: 13_334, meetsDeadline: true });
    // A car needing less than one slot at the minimum gets the minimum if the battery can take it ...
    const small = planCharging(input([car(1, { socPct: 90, targetSocPct: 90.5, departure: '2026-11-26T22:00:00Z', minPowerW: 4_140 })]));
    expect(small.schedules[0]!.slots.filter((s) => s.powerW > 0).map((s) => s.powerW)).toEqual([4_140]);
    expect(small.schedules[0]!.meetsDeadline).toBe(true);
    // ... and is left as it is when it is closer to full than that (250 Wh of room, 345 Wh per slot at 1,380 W).
    const full = planCharging(input([car(1, { socPct: 99.5, departure: '2026-11-26T22:00:00Z', minPowerW: 1_380 })]));
    expect(full.schedules[0]).toMatchObject({ energyWh: 0, targetWh: 0, meetsDeadline: true });
    expect(full.unmet).toEqual([]);
  });

  test('a car derated below its pile minimum cannot charge: cold', () => {
    const result = planCharging(input([car(1, { neededWh: 20_000, departure: '2026-11-26T22:00:00Z', minPowerW: 4_140 })], { ambientC: -20 }));
    expect(result.schedules[0]!.energyWh).toBe(0);
    expect(result.unmet[0]).toMatchObject({ reason: 'cold', shortfallWh: 12_000 });
  });

  test('deterministic: the same input gives the same plan, whatever the order of the cars', () => {
    const cars = [1, 2, 3, 4, 5].map((n) => car(n, { socPct: 10 * n, departure: `2026-11-26T${String(12 + 2 * n).padStart(2, '0')}:00:00Z` }));
    const a = planCharging(input(cars, { stationCapW: 12_000 }));
    expect(planCharging(input(cars, { stationCapW: 12_000 }))).toEqual(a);
    const b = planCharging(input([...cars].reverse(), { stationCapW: 12_000 }));
    expect(b.costFen).toBe(a.costFen);
    expect([...b.schedules].reverse()).toEqual(a.schedules);
    expect([...b.unmet].sort((x, y) => x.pileId.localeCompare(y.pileId))).toEqual([...a.unmet].sort((x, y) => x.pileId.localeCompare(y.pileId)));
  });

  test('chargingPeriods: consecutive equal slots merge into OCPP periods', () => {
    const result = planCharging(input([car(1, { departure: '2026-11-26T22:00:00Z' })]));
    const periods = chargingPeriods(result.schedules[0]!);
    expect(periods[0]).toEqual({ startPeriod: 0, limit: 0 });
    expect(periods[1]).toEqual({ startPeriod: VALLEY_FIRST_SLOT * 900, limit: 7_000 });
    expect(periods.at(-1)!.limit).toBe(0);
  });
});

describe('invalid input', () => {
  const good = input([car(1, { departure: '2026-11-26T22:00:00Z' })]);
  const withCar = (over: Record<string, unknown>) => ({ ...good, cars: [{ ...good.cars[0]!, ...over }] });
  test.each<[string, unknown]>([
    ['start', { ...good, start: 'yesterday' }],
    ['start', { ...good, start: '2026-11-26T10:00:00' }],
    ['slotMinutes', { ...good, slotMinutes: 30 }],
    ['horizonSlots', { ...good, horizonSlots: 0 }],
    ['horizonSlots', { ...good, horizonSlots: 1.5 }],
    ['horizonSlots', { ...good, horizonSlots: 10_000 }],
    ['stationCapW', { ...good, stationCapW: -1 }],
    ['stationCapW', { ...good, stationCapW: Number.NaN }],
    ['ambientC', { ...good, ambientC: -100 }],
    ['marginPct', { ...good, marginPct: -5 }],
    ['readyBeforeMinutes', { ...good, readyBeforeMinutes: -15 }],
    ['cars', { ...good, cars: 'none' }],
    ['cars[0].socPct', withCar({ socPct: -1 })],
    ['cars[0].socPct', withCar({ socPct: 101 })],
    ['cars[0].capacityWh', withCar({ capacityWh: 0 })],
    ['cars[0].maxPowerW', withCar({ maxPowerW: -7000 })],
    ['cars[0].neededWh', withCar({ neededWh: -1 })],
    ['cars[0].targetSocPct', withCar({ targetSocPct: 120 })],
    ['cars[0].departure', withCar({ departure: 'tomorrow' })],
    ['cars[0].pileId', withCar({ pileId: '' })],
    ['cars[0].minPowerW', withCar({ minPowerW: -1 })],
    ['cars[1].pileId', { ...good, cars: [car(1), car(2, { pileId: 'P1' })] }],
    ['cars[1].vehicleId', { ...good, cars: [car(1), car(2, { vehicleId: 'V1' })] }],
    ['tariff', { ...good, tariff: null }],
    ['tariff.utcOffsetMinutes', { ...good, tariff: { ...SHANGHAI_LIKE, utcOffsetMinutes: 4.5 } }],
    ['tariff.bands', { ...good, tariff: { ...SHANGHAI_LIKE, bands: SHANGHAI_LIKE.bands.slice(1) } }],
    ['tariff.bands[6]', { ...good, tariff: { ...SHANGHAI_LIKE, bands: [...SHANGHAI_LIKE.bands, SHANGHAI_LIKE.bands[0]] } }],
    [
      'tariff.bands[0].fenPerKwh',
      { ...good, tariff: { ...SHANGHAI_LIKE, bands: [{ ...SHANGHAI_LIKE.bands[0]!, fenPerKwh: -3 }, ...SHANGHAI_LIKE.bands.slice(1)] } },
    ],
    ['tariff.bands[0].toMinute', { ...good, tariff: { ...SHANGHAI_LIKE, bands: [{ ...SHANGHAI_LIKE.bands[0]!, toMinute: 2000 }] } }],
  ])('%s', (field, bad) => {
    let error: unknown;
    try {
      planCharging(bad as PlannerInput);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlannerInputError);
    expect((error as PlannerInputError).field).toBe(field);
  });
});
