import type { Queryable } from './model';

/** What decides whether a member may reserve or rent (columns owned by the wallet/licence work). */
export interface Eligibility {
  status: string;
  walletBalanceFen: number;
  depositFen: number;
  licenceStatus: 'unverified' | 'pending' | 'approved' | 'rejected';
  /** The licence's last valid day (YYYY-MM-DD), or null when none was given. */
  licenceExpiresOn: string | null;
}

export type EligibilityReason =
  'member-not-active' | 'negative-balance' | 'balance-below-minimum' | 'licence-not-approved' | 'licence-expired' | 'deposit-insufficient';

/** What renting asks of the member: the plan's deposit and the fleet's minimum balance. */
export interface Requirement {
  depositFen: number;
  minBalanceFen: number;
}

/**
 * Reads the member's eligibility and locks the member row until the transaction ends, so one
 * member's concurrent reserve and rent attempts run one after the other (the one-hold rule spans
 * two tables, which no single index can enforce). NO KEY UPDATE leaves foreign-key inserts
 * (notifications, ledger) unblocked.
 */
export async function lockEligibility(db: Queryable, memberId: string): Promise<Eligibility | undefined> {
  const { rows } = await db.query<Eligibility>(
    `SELECT status, wallet_balance_fen AS "walletBalanceFen", deposit_fen AS "depositFen", licence_status AS "licenceStatus",
            to_char(licence_expires_on, 'YYYY-MM-DD') AS "licenceExpiresOn"
       FROM members WHERE id = $1 FOR NO KEY UPDATE`,
    [memberId],
  );
  return rows[0];
}

/**
 * Why the member may not rent now, or undefined when they may. `today` is the UTC date
 * (YYYY-MM-DD): an approved licence stops counting the day after its expiry, at every reservation
 * and rental start (the same day boundary as the cars' fleet list, docs/vehicles.md).
 */
export function eligibilityRefusal(member: Eligibility, required: Requirement, today: string): { reason: EligibilityReason; detail: string } | undefined {
  if (member.status !== 'active') return { reason: 'member-not-active', detail: `The account is ${member.status}; only active accounts can rent` };
  if (member.walletBalanceFen < 0) {
    return { reason: 'negative-balance', detail: `The wallet balance is ${formatYuan(member.walletBalanceFen)}; top up to settle it before renting` };
  }
  if (member.walletBalanceFen < required.minBalanceFen) {
    return {
      reason: 'balance-below-minimum',
      detail: `The wallet balance is ${formatYuan(member.walletBalanceFen)}; renting needs at least ${formatYuan(required.minBalanceFen)}, top up first`,
    };
  }
  if (member.licenceStatus !== 'approved') {
    const state = { unverified: 'has not been submitted', pending: 'is waiting for verification', rejected: 'was rejected' }[member.licenceStatus];
    return { reason: 'licence-not-approved', detail: `Your driving licence ${state}; renting needs an approved licence` };
  }
  // ISO dates compare as strings.
  if (member.licenceExpiresOn !== null && member.licenceExpiresOn < today) {
    return { reason: 'licence-expired', detail: `Your driving licence expired on ${member.licenceExpiresOn}; submit the renewed licence to rent again` };
  }
  if (member.depositFen < required.depositFen) {
    return { reason: 'deposit-insufficient', detail: `The deposit is ${formatYuan(member.depositFen)}; renting needs ${formatYuan(required.depositFen)}` };
  }
  return undefined;
}

/** Why a car may not be reserved or rented for its charge, or undefined when it may. */
export function chargeRefusal(car: { plate: string; socPct: number }, minSocPct: number): { reason: 'vehicle-low-charge'; detail: string } | undefined {
  if (car.socPct >= minSocPct) return undefined;
  return {
    reason: 'vehicle-low-charge',
    detail: `The car ${car.plate} is charged to ${car.socPct}%, below the ${minSocPct}% a rental needs; choose another car`,
  };
}

export function formatYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
