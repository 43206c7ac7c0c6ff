import { pileStateOf, readMeterValues } from './meter';

describe('readMeterValues', () => {
  it.each([
    ['default measurand is the energy register in Wh', [{ value: '1234' }], { energyWh: 1234 }],
    ['kWh converted', [{ value: '1.5', unit: 'kWh', measurand: 'Energy.Active.Import.Register' }], { energyWh: 1500 }],
    ['power in W and kW', [{ value: '7.2', unit: 'kW', measurand: 'Power.Active.Import' }], { powerW: 7200 }],
    ['SoC clamped', [{ value: '101', measurand: 'SoC', unit: 'Percent' }], { socPct: 100 }],
    ['per-phase values skipped', [{ value: '10', measurand: 'Power.Active.Import', phase: 'L1' }], {}],
    ['non-numbers ignored', [{ value: 'abc' }], {}],
    ['other measurands ignored', [{ value: '230', measurand: 'Voltage' }], {}],
    [
      'all together',
      [{ value: '5000' }, { value: '3700', measurand: 'Power.Active.Import', unit: 'W' }, { value: '42.5', measurand: 'SoC' }],
      { energyWh: 5000, powerW: 3700, socPct: 42.5 },
    ],
  ])('%s', (_name, sampledValue, expected) => {
    expect(readMeterValues([{ timestamp: '2026-01-01T00:00:00Z', sampledValue }])).toEqual([{ at: '2026-01-01T00:00:00.000Z', ...expected }]);
  });
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
