import { buildModel, buildResult, type Model } from './model';
import type { PlannerInput, PlannerResult } from './types';

/**
 * Baselines the planner is measured against (tests and bench/planner). Both see the same model
 * (cold derating, efficiency, battery room, departures) and both respect the station cap, which is
 * a physical limit: when the cars ask for more than the cap in a slot, the cap is shared equally
 * among them (water-filling: a car asking less than the equal share gets what it asks, the rest is
 * shared by the others), as a load-balancing controller without priorities would.
 */

/** Uncontrolled: every car charges at full power from now until it has its energy or leaves. */
export function planUncontrolled(input: PlannerInput): PlannerResult {
  const model = buildModel(input);
  return buildResult(
    model,
    simulate(model, (_, remaining, m) => Math.min(m.slotMaxWh, remaining)),
  );
}

/**
 * CitrineOS-style flat limit: each car gets one constant limit until its departure, the energy it
 * needs spread evenly over the slots it has (capped by its power), with no knowledge of the tariff
 * or of the other cars; a car without a departure spreads over the horizon.
 */
export function planFlatLimit(input: PlannerInput): PlannerResult {
  const model = buildModel(input);
  const rates = model.cars.map((m) => (m.windowSlots === 0 ? 0 : Math.min(m.slotMaxWh, Math.ceil(m.demandWh / m.windowSlots))));
  return buildResult(
    model,
    simulate(model, (i, remaining) => Math.min(rates[i]!, remaining)),
  );
}

type Request = (car: number, remainingWh: number, m: Model['cars'][number]) => number;

function simulate(model: Model, request: Request): number[][] {
  const { cars, slots, capWh } = model;
  const energy = cars.map(() => new Array<number>(slots).fill(0));
  const remaining = cars.map((m) => m.demandWh);
  for (let s = 0; s < slots; s++) {
    const asks: { car: number; wh: number }[] = [];
    for (let i = 0; i < cars.length; i++) {
      if (cars[i]!.windowSlots <= s || remaining[i]! <= 0) continue;
      const wh = request(i, remaining[i]!, cars[i]!);
      if (wh > 0) asks.push({ car: i, wh });
    }
    asks.sort((a, b) => a.wh - b.wh || a.car - b.car);
    let capLeft = capWh;
    asks.forEach(({ car, wh }, n) => {
      const share = Math.floor(capLeft / (asks.length - n));
      const given = Math.min(wh, share);
      energy[car]![s] = given;
      remaining[car] = remaining[car]! - given;
      capLeft -= given;
    });
  }
  return energy;
}
