import { applyChange, applyDeduction, stateBefore, yuan } from './apply';

describe('applyDeduction', () => {
  it.each([
    ['charge within the balance', 10_000, 0, 'rental', 2_350, { amountFen: -2_350, balanceFen: 7_650, debtFen: 0, debtIncreaseFen: 0 }],
    ['charge of exactly the balance', 2_350, 0, 'rental', 2_350, { amountFen: -2_350, balanceFen: 0, debtFen: 0, debtIncreaseFen: 0 }],
    ['charge beyond the balance makes a debt', 1_000, 0, 'one-way-fee', 3_000, { amountFen: -3_000, balanceFen: -2_000, debtFen: 2_000, debtIncreaseFen: 2_000 }],
    ['charge on an existing debt adds to it', -500, 500, 'reservation-fee', 200, { amountFen: -200, balanceFen: -700, debtFen: 700, debtIncreaseFen: 200 }],
    ['refund credits', 100, 0, 'refund', 900, { amountFen: 900, balanceFen: 1_000, debtFen: 0, debtIncreaseFen: 0 }],
    ['refund pays a debt off partly', -1_000, 1_000, 'refund', 400, { amountFen: 400, balanceFen: -600, debtFen: 600, debtIncreaseFen: 0 }],
    ['refund pays a debt off entirely', -1_000, 1_000, 'refund', 1_500, { amountFen: 1_500, balanceFen: 500, debtFen: 0, debtIncreaseFen: 0 }],
    ['zero-fee rental changes nothing', 300, 0, 'rental', 0, { amountFen: 0, balanceFen: 300, debtFen: 0, debtIncreaseFen: 0 }],
    ['manual and damage charge', 0, 0, 'damage', 50_000, { amountFen: -50_000, balanceFen: -50_000, debtFen: 50_000, debtIncreaseFen: 50_000 }],
  ] as const)('%s', (_name, balance, debt, kind, amountFen, expected) => {
    expect(applyDeduction(balance, debt, { kind, amountFen })).toEqual(expected);
  });
});

describe('stateBefore', () => {
  it('recovers the wallet before an entry, so a redelivery can tell whether the debt grew', () => {
    const after = applyChange({ balanceFen: 100, debtFen: 0 }, -400);
    expect(stateBefore({ amountFen: after.amountFen, balanceAfterFen: after.balanceFen })).toEqual({ balanceFen: 100, debtFen: 0 });
  });
});

describe('yuan', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [1234, '12.34'],
    [100_000, '1000.00'],
    [-250, '-2.50'],
  ])('%i fen is %s', (fen, text) => {
    expect(yuan(fen)).toBe(text);
  });
});
