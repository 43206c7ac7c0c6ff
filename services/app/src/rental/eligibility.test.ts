import { eligibilityRefusal, type Eligibility } from './eligibility';

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
    expect(eligibilityRefusal({ ...eligible, ...member }, 50_000, today)?.reason).toBe(reason);
  });
});
