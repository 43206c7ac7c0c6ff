export { billingConfigSchema, startBilling, applyDeductionsInDatabase, BILLING_DURABLE, type BillingConfig, type BillingDeps } from './service';
export {
  applyChange,
  applyDeduction,
  signedAmount,
  stateBefore,
  yuan,
  planLedger,
  type AppliedChange,
  type LedgerPlan,
  type PlannedEntry,
  type PlannedOutcome,
  type WalletState,
} from './apply';
export { createDispatcher, planBatch, type BatchPlan, type Dispatcher } from './dispatch';
