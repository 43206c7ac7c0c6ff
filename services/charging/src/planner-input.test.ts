import { planCharging } from './planner';
import { pileMinPowerW, plannerCarFor, plannerMinPowerW, type ParkedCarRow } from './planner-input';

const context = { defaultBatteryKwh: 60, ambientC: 20, pileVoltageV: 230, pilePhases: 3 };
const row = (over: Partial<ParkedCarRow> = {}): ParkedCarRow => ({
  pileId: 'P1',
  vehicleId: 'V1',
  connectorSocPct: null,
  vehicleSocPct: 40,
  batteryKwh: 60,
  pileMaxPowerW: 7000,
  departure: null,
  bookedWh: null,
  deliveredWh: 0,
  ...over,
});
const departure = new Date('2026-11-26T06:00:00Z');

describe('pileMinPowerW', () => {
  it.each([
    ['three-phase 7 kW pile', 7000, 230, 3, 4140],
    ['three-phase 22 kW pile', 22_000, 230, 3, 4140],
    ['rated below 6 A on three phases: single-phase', 3300, 230, 3, 1380],
    ['exactly 6 A on three phases', 4140, 230, 3, 4140],
    ['single-phase supply configured', 7000, 220, 1, 1320],
  ])('%s', (_name, maxPowerW, voltage, phases, expected) => {
    expect(pileMinPowerW(maxPowerW, voltage, phases)).toBe(expected);
  });
});

describe('plannerMinPowerW', () => {
  it.each([
    ['warm: the pile floor', 7000, 20, 4140],
    ['0 °C: 75 % of 7 kW is still above the floor', 7000, 0, 4140],
    ['-10 °C: the car takes 3.5 kW, below the floor', 7000, -10, 3500],
    ['derated power rounded down to whole Wh per slot', 7001, -10, 3500],
    ['cold single-phase pile', 3300, -20, 824],
  ])('%s', (_name, maxPowerW, ambientC, expected) => {
    expect(plannerMinPowerW(maxPowerW, { ambientC, pileVoltageV: 230, pilePhases: 3 })).toBe(expected);
  });
});

describe('plannerCarFor', () => {
  it.each<[string, Partial<ParkedCarRow>, Partial<typeof context>, Record<string, unknown>]>([
    ['no booking: fill by the horizon, no deadline', {}, {}, { socPct: 40, capacityWh: 60_000, maxPowerW: 7000, minPowerW: 4140 }],
    ['the pile SoC wins over the car report', { connectorSocPct: 55.5 }, {}, { socPct: 55.5 }],
    ['unknown battery: the default', { batteryKwh: null }, { defaultBatteryKwh: 42 }, { capacityWh: 42_000 }],
    ['rental hold: departure, full battery', { departure }, {}, { departure: departure.toISOString() }],
    // 8 kWh metered × 0.9 reaches the battery: 7.2 kWh of 60 = 12 points on top of 40 %.
    ['charging booking: SoC now plus the energy to add', { departure, bookedWh: 8000 }, {}, { departure: departure.toISOString(), targetSocPct: 52 }],
    ['what was delivered since booking counts', { bookedWh: 8000, deliveredWh: 3000, vehicleSocPct: 45 }, {}, { targetSocPct: 52.5 }],
    ['delivered it all: nothing more', { bookedWh: 8000, deliveredWh: 9000, vehicleSocPct: 52 }, {}, { targetSocPct: 52 }],
    ['more than the battery holds: full', { bookedWh: 100_000 }, {}, { targetSocPct: 100 }],
    // At -10 °C only 80 % reaches the battery: 8 kWh → 6.4 kWh = 10.67 points.
    ['cold: less of the energy reaches the battery', { bookedWh: 8000 }, { ambientC: -10 }, { targetSocPct: expect.closeTo(40 + 640 / 60, 9) }],
    ['a small pile is single-phase', { pileMaxPowerW: 3300 }, {}, { minPowerW: 1380 }],
    ['cold car below the floor: its own power is the minimum', {}, { ambientC: -10 }, { minPowerW: 3500 }],
  ])('%s', (_name, over, ctx, expected) => {
    const car = plannerCarFor(row(over), { ...context, ...ctx });
    expect(car).toMatchObject({ pileId: 'P1', vehicleId: 'V1', ...expected });
    for (const key of ['departure', 'targetSocPct'] as const) if (!(key in expected)) expect(car[key]).toBeUndefined();
    expect(car.neededWh).toBeUndefined();
  });

  it.each([20, -10])('the planner then draws the booked energy from the grid (%d °C)', (ambientC) => {
    const car = plannerCarFor(row({ departure, bookedWh: 8000, deliveredWh: 2500 }), { ...context, ambientC });
    const result = planCharging({
      start: '2026-11-25T16:00:00Z',
      horizonSlots: 96,
      stationCapW: 22_000,
      ambientC,
      tariff: {
        utcOffsetMinutes: 480,
        bands: [
          { name: 'valley', fromMinute: 0, toMinute: 720, fenPerKwh: 35 },
          { name: 'flat', fromMinute: 720, toMinute: 1440, fenPerKwh: 75 },
        ],
      },
      cars: [car],
    });
    const schedule = result.schedules[0]!;
    // 8 kWh booked, 2.5 kWh delivered: 5.5 kWh more (within one slot at the minimum, which the planner may round up to).
    expect(schedule.energyWh).toBeGreaterThanOrEqual(5498);
    expect(schedule.energyWh).toBeLessThanOrEqual(5500 + car.minPowerW! / 4);
    expect(schedule.deadline).toBe(departure.toISOString());
    expect(result.unmet).toEqual([]);
    for (const slot of schedule.slots) expect(slot.powerW === 0 || slot.powerW >= car.minPowerW!).toBe(true);
  });
});
