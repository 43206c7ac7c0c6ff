import { evaluateAlerts, type AlertMemory } from './alerts';

describe('evaluateAlerts', () => {
  const calm: AlertMemory = { lowCharge: false, doorOpen: false };
  it.each([
    ['charge falls below the threshold', calm, { state: 'available', socPct: 19, doorsOpen: false }, ['low-charge'], { lowCharge: true, doorOpen: false }],
    [
      'charge stays low: no repeat',
      { lowCharge: true, doorOpen: false },
      { state: 'available', socPct: 10, doorsOpen: false },
      [],
      { lowCharge: true, doorOpen: false },
    ],
    [
      'charge back above threshold but within hysteresis',
      { lowCharge: true, doorOpen: false },
      { state: 'available', socPct: 22, doorsOpen: false },
      [],
      { lowCharge: true, doorOpen: false },
    ],
    ['charge recovered past hysteresis', { lowCharge: true, doorOpen: false }, { state: 'available', socPct: 25, doorsOpen: false }, [], calm],
    [
      'door opened on a returned car',
      calm,
      { state: 'available', socPct: 80, doorsOpen: true },
      ['door-open-after-return'],
      { lowCharge: false, doorOpen: true },
    ],
    ['door open during a rental is normal', calm, { state: 'in_use', socPct: 80, doorsOpen: true }, [], calm],
    [
      'door still open: no repeat',
      { lowCharge: false, doorOpen: true },
      { state: 'available', socPct: 80, doorsOpen: true },
      [],
      { lowCharge: false, doorOpen: true },
    ],
    [
      'both at once, first report',
      undefined,
      { state: 'available', socPct: 5, doorsOpen: true },
      ['low-charge', 'door-open-after-return'],
      { lowCharge: true, doorOpen: true },
    ],
  ])('%s', (_name, memory, sample, raised, after) => {
    const result = evaluateAlerts(memory, sample, 20);
    expect(result.raised).toEqual(raised);
    expect(result.memory).toEqual(after);
  });
});
