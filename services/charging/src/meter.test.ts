import { pileStateOf, readMeterValues } from './meter';

describe('readMeterValues', () => {
  const clock = { nowMs: Date.parse('2026-01-01T00:00:00Z'), toleranceMs: 300_000 };
  it.each([
    ['default measurand is the energy register in Wh', [{ value: '1234' }], { energyWh: 1234 }],
    ['kWh converted', [{ value: '1.5', unit: 'kWh', measurand: 'Energy.Active.Import.Register' }], { energyWh: 1500 }],
    ['power in W and kW', [{ value: '7.2', unit: 'kW', measurand: 'Power.Active.Import' }], { powerW: 7200 }],
    ['SoC clamped', [{ value: '101', measurand: 'SoC', unit: 'Percent' }], { socPct: 100 }],
    ['per-phase values skipped', [{ value: '10', measurand: 'Power.Active.Import', phase: 'L1' }], {}],
    ['non-numbers ignored', [{ value: 'abc' }], {}],
    ['other measurands ignored', [{ value: '230', measurand: 'Voltage' }], {}],
    ['a negative register ignored', [{ value: '-5' }], {}],
    ['a register beyond a terawatt-hour ignored', [{ value: '1e13' }], {}],
    ['a power beyond a gigawatt ignored', [{ value: '2e9', measurand: 'Power.Active.Import' }], {}],
    [
      'all together',
      [{ value: '5000' }, { value: '3700', measurand: 'Power.Active.Import', unit: 'W' }, { value: '42.5', measurand: 'SoC' }],
      { energyWh: 5000, powerW: 3700, socPct: 42.5 },
    ],
  ])('%s', (_name, sampledValue, expected) => {
    expect(readMeterValues([{ timestamp: '2026-01-01T00:00:00Z', sampledValue }], clock)).toEqual([{ at: '2026-01-01T00:00:00.000Z', ...expected }]);
  });

  it.each(['0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-01-01T00:05:01Z'])(
    'a timestamp far from the server clock (%s) becomes the server time',
    (timestamp) => {
      expect(readMeterValues([{ timestamp, sampledValue: [{ value: '1' }] }], clock)).toEqual([{ at: '2026-01-01T00:00:00.000Z', energyWh: 1 }]);
    },
  );
});

describe('pileStateOf', () => {
  it.each([
    ['Available', 'available'],
    ['Preparing', 'occupied'],
    ['Charging', 'charging'],
    ['SuspendedEV', 'occupied'],
    ['SuspendedEVSE', 'occupied'],
    ['Finishing', 'occupied'],
    ['Reserved', 'occupied'],
    ['Unavailable', 'unavailable'],
    ['Faulted', 'faulted'],
  ])('%s -> %s', (status, state) => expect(pileStateOf(status)).toBe(state));
});
