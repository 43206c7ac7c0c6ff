import type { Logger, Pool } from '@evshare/kit';
import type { RentalService } from './service';

/**
 * The sweep every APP instance runs: expire due reservations (releasing the car and charging
 * the fee), tell the holders of reservations about to expire, roll back rentals stuck waiting for an unlock, republish unpublished fees. Each step
 * is safe with any number of instances at once. Returns a stop function.
 */
export function startRentalSweep(service: RentalService, db: Pool, log: Logger, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    // The instance may be shutting down without stopping the sweep: do nothing on a closed pool.
    if (running || db.ending) return;
    running = true;
    void (async () => {
      for (const step of [service.expireReservations, service.noticeExpiringReservations, service.rollbackStuckUnlocks, service.republishOutbox]) {
        if (db.ending) break;
        await step().catch((error: unknown) => log.warn({ err: error }, 'rental sweep step failed'));
      }
    })().finally(() => {
      running = false;
    });
  }, intervalMs);
  // The sweep alone must not keep a process alive.
  timer.unref();
  return () => clearInterval(timer);
}
