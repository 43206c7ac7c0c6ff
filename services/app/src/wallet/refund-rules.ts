/** What decides whether a member's deposit may be paid back now. */
export interface RefundState {
  depositFen: number;
  debtFen: number;
  /** A reservation or a rental (unlocking or active) of theirs is open. */
  holdsCar: boolean;
  /** A fee of theirs is recorded but not yet in the ledger (a rental just ended). */
  chargesPending: boolean;
  /** A refund of theirs is still waiting for the provider. */
  refundPending: boolean;
}

export type RefundRefusal = 'refund-in-progress' | 'no-deposit' | 'member-busy' | 'debt-outstanding' | 'charges-pending';

/**
 * Why the deposit cannot be refunded now, with what to do, or undefined when it can. The deposit
 * covers what a rental may still cost, so it is paid back only once nothing is open or owed.
 */
export function depositRefundRefusal(state: RefundState): { reason: RefundRefusal; detail: string } | undefined {
  if (state.refundPending) return { reason: 'refund-in-progress', detail: 'A refund of your deposit is already on its way; repeat that request to follow it' };
  if (state.depositFen <= 0) return { reason: 'no-deposit', detail: 'You hold no deposit to refund' };
  if (state.holdsCar) return { reason: 'member-busy', detail: 'Return the car or cancel the reservation first; the deposit covers it until then' };
  if (state.debtFen > 0) return { reason: 'debt-outstanding', detail: 'Top up to settle the debt first; the deposit is refunded once nothing is owed' };
  if (state.chargesPending) return { reason: 'charges-pending', detail: 'A fee of your last rental is still being booked; try again in a minute' };
  return undefined;
}
