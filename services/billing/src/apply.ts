import type { DeductionMessage } from '@evshare/kit';

/** A member's wallet as the billing rules see it (integer fen). */
export interface WalletState {
  balanceFen: number;
  debtFen: number;
}

export interface AppliedChange {
  /** Signed change of the balance, as written to the ledger: negative charges, positive credits. */
  amountFen: number;
  balanceFen: number;
  debtFen: number;
  /** How much this change added to the debt (0 when it did not); a positive value sends the debt SMS. */
  debtIncreaseFen: number;
}

/** Pure: a refund credits the member, every other kind charges. */
export function signedAmount(kind: DeductionMessage['kind'], amountFen: number): number {
  // `0 - x` rather than `-x`: a zero charge is +0, never -0, in the ledger and in JSON.
  return kind === 'refund' ? amountFen : 0 - amountFen;
}

/**
 * Pure: the wallet after a signed change. The balance may go negative (a charge is never
 * refused: the rental already happened); whatever is below zero is the debt, and a credit pays
 * the debt off first because it simply raises the balance.
 */
export function applyChange(state: WalletState, amountFen: number): AppliedChange {
  const balanceFen = state.balanceFen + amountFen;
  const debtFen = Math.max(0, -balanceFen);
  return { amountFen, balanceFen, debtFen, debtIncreaseFen: Math.max(0, debtFen - state.debtFen) };
}

/** Pure: what applying one deduction message does to the wallet. */
export function applyDeduction(balanceFen: number, debtFen: number, message: Pick<DeductionMessage, 'kind' | 'amountFen'>): AppliedChange {
  return applyChange({ balanceFen, debtFen }, signedAmount(message.kind, message.amountFen));
}

/** Pure: the wallet before a ledger entry, recovered from the entry itself (a redelivered message). */
export function stateBefore(entry: { amountFen: number; balanceAfterFen: number }): WalletState {
  const balanceFen = entry.balanceAfterFen - entry.amountFen;
  return { balanceFen, debtFen: Math.max(0, -balanceFen) };
}

/** `1234` → `12.34` (yuan), for receipts and SMS. */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A ledger row a batch will insert, in the order its member's chain needs. */
export interface PlannedEntry {
  memberId: string;
  reference: string;
  kind: DeductionMessage['kind'];
  amountFen: number;
  balanceAfterFen: number;
  debtAfterFen: number;
  description: string;
  rentalId: string | null;
  requestedBy: string;
}

export type PlannedOutcome =
  | { result: 'applied'; entry: PlannedEntry }
  /** The reference is in the ledger already, or earlier in this batch: nothing changes. */
  | { result: 'duplicate'; reference: string }
  | { result: 'unknown-member' };

export interface LedgerPlan {
  /** One per deduction, in the same order. */
  outcomes: PlannedOutcome[];
  /** The entries to insert, in deduction order (so each member's chain follows the ledger ids). */
  entries: PlannedEntry[];
  /** The wallets the batch changed, after its last entry. */
  wallets: Map<string, WalletState>;
}

/**
 * Pure: several deductions applied one after another within one transaction, from the locked
 * wallets and the references already in the ledger. Each member's entries chain on from the
 * previous one (balance after = balance before + amount), in the deductions' order.
 */
export function planLedger(
  deductions: readonly DeductionMessage[],
  lockedWallets: ReadonlyMap<string, WalletState>,
  existingReferences: ReadonlySet<string>,
): LedgerPlan {
  const wallets = new Map<string, WalletState>();
  const seen = new Set(existingReferences);
  const entries: PlannedEntry[] = [];
  const outcomes = deductions.map((deduction): PlannedOutcome => {
    const wallet = wallets.get(deduction.memberId) ?? lockedWallets.get(deduction.memberId);
    if (!wallet) return { result: 'unknown-member' };
    if (seen.has(deduction.reference)) return { result: 'duplicate', reference: deduction.reference };
    seen.add(deduction.reference);
    const change = applyDeduction(wallet.balanceFen, wallet.debtFen, deduction);
    wallets.set(deduction.memberId, { balanceFen: change.balanceFen, debtFen: change.debtFen });
    const entry: PlannedEntry = {
      memberId: deduction.memberId,
      reference: deduction.reference,
      kind: deduction.kind,
      amountFen: change.amountFen,
      balanceAfterFen: change.balanceFen,
      debtAfterFen: change.debtFen,
      description: deduction.description,
      rentalId: deduction.rentalId ?? null,
      requestedBy: deduction.requestedBy,
    };
    entries.push(entry);
    return { result: 'applied', entry };
  });
  return { outcomes, entries, wallets };
}
