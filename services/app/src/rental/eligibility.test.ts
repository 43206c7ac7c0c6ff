import { chargeRefusal, eligibilityRefusal, type Eligibility } from './eligibility';

const eligible: Eligibility = { status: 'active', walletBalanceFen: 0, depositFen: 50_000, licenceStatus: 'approved', licenceExpiresOn: '2030-06-30' };

describe('eligibilityRefusal', () => {
  it.each<[string, Partial<Eligibility>, string, string | undefined]>([
    ['eligible', {}, '2026-12-02', undefined],
    ['no expiry given', { licenceExpiresOn: null }, '2026-12-02', undefined],
    ['licence valid through today', { licenceExpiresOn: '2026-12-02' }, '2026-12-02', undefined],
    ['licence expired yesterday', { licenceExpiresOn: '2026-12-01' }, '2026-12-02', 'licence-expired'],
    ['licence expired at the year before', { licenceExpiresOn: '2025-12-31' }, '2026-01-01', 'licence-expired'],
    ['suspended before the licence', { status: 'suspended', licenceExpiresOn: '2020-01-01' }, '2026-12-02', 'member-not-active'],
    ['debt before the licence', { walletBalanceFen: -1, licenceExpiresOn: '2020-01-01' }, '2026-12-02', 'negative-balance'],
    ['not approved before expired', { licenceStatus: 'pending', licenceExpiresOn: '2020-01-01' }, '2026-12-02', 'licence-not-approved'],
    ['expired before the deposit', { depositFen: 0, licenceExpiresOn: '2020-01-01' }, '2026-12-02', 'licence-expired'],
    ['deposit short', { depositFen: 49_999 }, '2026-12-02', 'deposit-insufficient'],
  ])('%s', (_name, member, today, reason) => {
    expect(eligibilityRefusal({ ...eligible, ...member }, { depositFen: 50_000, minBalanceFen: 0 }, today)?.reason).toBe(reason);
  });

  it.each<[string, number, number, string | undefined]>([
    ['no minimum: a zero balance rents', 0, 0, undefined],
    ['at the minimum', 1_000, 1_000, undefined],
    ['one fen short of the minimum', 999, 1_000, 'balance-below-minimum'],
    ['debt is named as debt, not as the minimum', -1, 1_000, 'negative-balance'],
  ])('minimum balance: %s', (_name, walletBalanceFen, minBalanceFen, reason) => {
    expect(eligibilityRefusal({ ...eligible, walletBalanceFen }, { depositFen: 0, minBalanceFen }, '2026-12-02')?.reason).toBe(reason);
  });
});

describe('chargeRefusal', () => {
  it.each<[number, number, string | undefined]>([
    [20, 20, undefined],
    [19.99, 20, 'vehicle-low-charge'],
    [0, 0, undefined],
    [100, 100, undefined],
  ])('a car at %s%% with a minimum of %s%%', (socPct, minSocPct, reason) => {
    expect(chargeRefusal({ plate: '沪A12345', socPct }, minSocPct)?.reason).toBe(reason);
  });
});
