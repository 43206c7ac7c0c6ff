import type { AppContext, DomainMount } from '../context';
import { adminRentalRoutes } from './admin';
import { memberRentalRoutes } from './routes';
import { createRentalService } from './service';
import { startRentalSweep } from './worker';

export { rentalSyncState } from './model';
export { rentalConfigSchema } from './config';
export { createRentalService, type RentalService } from './service';

/**
 * The rental business (claim 7): stations, cars, prices, cards, reservations, rentals. Mounted
 * by the APP service (domains.ts); starts the sweep that expires reservations on this instance.
 */
export function mountRental(ctx: AppContext): DomainMount {
  const { config } = ctx;
  const service = createRentalService({
    db: ctx.db,
    bus: ctx.bus,
    cache: ctx.cache,
    log: ctx.log.child({ domain: 'rental' }),
    members: ctx.members,
    config,
    requestedBy: `app:${ctx.config.INSTANCE_ID ?? ctx.config.POD_NAME ?? 'app'}`,
  });
  return {
    routes: [...memberRentalRoutes(ctx, service), ...adminRentalRoutes(ctx, service)],
    stop: startRentalSweep(service, ctx.db, ctx.log.child({ domain: 'rental' }), config.RENTAL_SWEEP_INTERVAL_MS),
  };
}
