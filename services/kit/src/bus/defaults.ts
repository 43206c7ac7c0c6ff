/** JetStream's defaults, shared so the embedded bus behaves like the broker when options are omitted. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_ACK_PENDING = 1000;

/** Redelivery delay after the handler threw on delivery n, the same curve on both buses. */
export function nakDelayMs(deliveryCount: number): number {
  return Math.min(100 * 2 ** (deliveryCount - 1), 10_000);
}
