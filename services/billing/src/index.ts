export { billingConfigSchema, startBilling, applyDeductionInDatabase, BILLING_DURABLE, type BillingConfig, type BillingDeps } from './service';
export { applyChange, applyDeduction, signedAmount, stateBefore, yuan, type AppliedChange, type WalletState } from './apply';
