import type { DeductionMessage } from '@evshare/kit';
import { applyChange, applyDeduction, planLedger, stateBefore, yuan } from './apply';

describe('applyDeduction', () => {
  it.each([
    ['charge within the balance', 10_000, 0, 'rental', 2_350, { amountFen: -2_350, balanceFen: 7_650, debtFen: 0, debtIncreaseFen: 0 }],
    ['charge of exactly the balance', 2_350, 0, 'rental', 2_350, { amountFen: -2_350, balanceFen: 0, debtFen: 0, debtIncreaseFen: 0 }],
    [
      'charge beyond the balance makes a debt',
      1_000,
      0,
      'one-way-fee',
      3_000,
      { amountFen: -3_000, balanceFen: -2_000, debtFen: 2_000, debtIncreaseFen: 2_000 },
    ],
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

describe('planLedger', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const U = '00000000-0000-4000-8000-0000000000ff';
  const d = (memberId: string, reference: string, amountFen: number, kind: DeductionMessage['kind'] = 'rental'): DeductionMessage => ({
    memberId,
    reference,
    kind,
    amountFen,
    description: reference,
    requestedBy: 'test',
    at: '2026-12-02T00:00:00.000Z',
  });
  const wallets = new Map([
    [A, { balanceFen: 1_000, debtFen: 0 }],
    [B, { balanceFen: -100, debtFen: 100 }],
  ]);
  const summary = (deductions: DeductionMessage[], existing: string[] = []) => {
    const plan = planLedger(deductions, wallets, new Set(existing));
    return {
      outcomes: plan.outcomes.map((o) =>
        o.result === 'applied' ? `${o.entry.reference}:${o.entry.amountFen}>${o.entry.balanceAfterFen}/${o.entry.debtAfterFen}` : o.result,
      ),
      entries: plan.entries.map((e) => e.reference),
      wallets: Object.fromEntries([...plan.wallets].map(([id, w]) => [id === A ? 'A' : 'B', [w.balanceFen, w.debtFen]])),
    };
  };

  it.each([
    ['one charge', [d(A, 'r1', 300)], [], { outcomes: ['r1:-300>700/0'], entries: ['r1'], wallets: { A: [700, 0] } }],
    [
      "one member's charges chain in order within the batch",
      [d(A, 'r1', 300), d(A, 'r2', 500), d(A, 'r3', 400)],
      [],
      { outcomes: ['r1:-300>700/0', 'r2:-500>200/0', 'r3:-400>-200/200'], entries: ['r1', 'r2', 'r3'], wallets: { A: [-200, 200] } },
    ],
    [
      'two members interleaved keep separate chains',
      [d(A, 'r1', 100), d(B, 'r2', 50), d(A, 'r3', 100), d(B, 'r4', 200, 'refund')],
      [],
      {
        outcomes: ['r1:-100>900/0', 'r2:-50>-150/150', 'r3:-100>800/0', 'r4:200>50/0'],
        entries: ['r1', 'r2', 'r3', 'r4'],
        wallets: { A: [800, 0], B: [50, 0] },
      },
    ],
    [
      'a reference in the ledger already changes nothing',
      [d(A, 'old', 300), d(A, 'r1', 100)],
      ['old'],
      { outcomes: ['duplicate', 'r1:-100>900/0'], entries: ['r1'], wallets: { A: [900, 0] } },
    ],
    [
      'the same reference twice in one batch applies once',
      [d(A, 'r1', 300), d(A, 'r1', 300)],
      [],
      { outcomes: ['r1:-300>700/0', 'duplicate'], entries: ['r1'], wallets: { A: [700, 0] } },
    ],
    [
      'an unknown member is rejected, the rest applies',
      [d(U, 'r1', 300), d(B, 'r2', 100, 'refund')],
      [],
      { outcomes: ['unknown-member', 'r2:100>0/0'], entries: ['r2'], wallets: { B: [0, 0] } },
    ],
    ['only duplicates: nothing to write', [d(A, 'x', 1), d(B, 'y', 2)], ['x', 'y'], { outcomes: ['duplicate', 'duplicate'], entries: [], wallets: {} }],
  ])('%s', (_name, deductions, existing, expected) => {
    expect(summary(deductions, existing)).toEqual(expected);
  });
});
