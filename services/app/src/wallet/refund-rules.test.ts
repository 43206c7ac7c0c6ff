import { depositRefundRefusal, type RefundState } from './refund-rules';

const free: RefundState = { depositFen: 50_000, debtFen: 0, holdsCar: false, chargesPending: false, refundPending: false };

describe('depositRefundRefusal', () => {
  it.each<[string, Partial<RefundState>, string | undefined]>([
    ['nothing open or owed: refunded', {}, undefined],
    ['no deposit', { depositFen: 0 }, 'no-deposit'],
    ['a car held', { holdsCar: true }, 'member-busy'],
    ['a debt', { debtFen: 1 }, 'debt-outstanding'],
    ['a fee still being booked', { chargesPending: true }, 'charges-pending'],
    ['a refund already on its way, before "no deposit" (the deposit already left)', { refundPending: true, depositFen: 0 }, 'refund-in-progress'],
    ['no deposit is said before a held car', { depositFen: 0, holdsCar: true }, 'no-deposit'],
  ])('%s', (_name, change, reason) => {
    expect(depositRefundRefusal({ ...free, ...change })?.reason).toBe(reason);
  });
});
