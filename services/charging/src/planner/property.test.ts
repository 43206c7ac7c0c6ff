import {
  chargeEfficiency,
  planCharging,
  planFlatLimit,
  planUncontrolled,
  powerDerate,
  type PlannerCar,
  type PlannerInput,
  type PlannerResult,
  type Tariff,
  type TariffBand,
} from './index';
import { seededRandom } from './testing';

const SLOT_MS = 15 * 60_000;

function randomTariff(rand: () => number): Tariff {
  const names: TariffBand['name'][] = ['peak', 'flat', 'valley'];
  const count = 1 + Math.floor(rand() * 5);
  const edges = new Set<number>();
  while (edges.size < count) edges.add(Math.floor(rand() * 1440));
  const sorted = [...edges].sort((a, b) => a - b);
  // Consecutive edges form the bands; the last one wraps past midnight to the first.
  const bands = sorted.map((from, i) => ({
    name: names[Math.floor(rand() * 3)]!,
    fromMinute: from,
    toMinute: sorted[(i + 1) % sorted.length]!,
    fenPerKwh: Math.floor(rand() * 200),
  }));
  if (bands.length === 1) Object.assign(bands[0]!, { fromMinute: 0, toMinute: 1440 });
  return { utcOffsetMinutes: Math.round((rand() * 28 - 14) * 4) * 15, bands };
}

function randomInput(rand: () => number, minimums = false): PlannerInput {
  const startMs = Date.parse('2026-11-26T00:00:00Z') + Math.floor(rand() * 2 * 1440) * 60_000;
  const horizonSlots = 1 + Math.floor(rand() * 40);
  const cars: PlannerCar[] = Array.from({ length: Math.floor(rand() * 12) }, (_, i) => {
    const c: PlannerCar = {
      pileId: `P${i}`,
      vehicleId: `V${i}`,
      socPct: Math.round(rand() * 100),
      capacityWh: 10_000 + Math.floor(rand() * 90_000),
      maxPowerW: rand() < 0.05 ? 0 : Math.floor(rand() * 22_000),
    };
    if (rand() < 0.3) c.targetSocPct = Math.round(rand() * 100);
    if (rand() < 0.5) c.neededWh = Math.floor(rand() * 60_000);
    if (minimums && rand() < 0.5) c.minPowerW = rand() < 0.5 ? 1_380 : 4_140;
    if (rand() < 0.8) c.departure = new Date(startMs + Math.floor((rand() * 1.3 - 0.1) * horizonSlots * SLOT_MS)).toISOString();
    return c;
  });
  return {
    start: new Date(startMs).toISOString(),
    horizonSlots,
    stationCapW: rand() < 0.1 ? 0 : Math.floor(rand() * 60_000),
    ambientC: Math.round(rand() * 60 - 25),
    tariff: randomTariff(rand),
    cars,
    ...(rand() < 0.5 ? { marginPct: Math.round(rand() * 30) } : {}),
  };
}

/** Price of each slot, fen/kWh × minutes, looked up minute by minute from the bands (independent of tariff.ts). */
function slotPrices(input: PlannerInput): number[] {
  const startMinute = Math.floor(Date.parse(input.start) / 60_000);
  return Array.from({ length: input.horizonSlots }, (_, s) => {
    let sum = 0;
    for (let m = 0; m < 15; m++) {
      const local = (((startMinute + s * 15 + m + input.tariff.utcOffsetMinutes) % 1440) + 1440) % 1440;
      const band = input.tariff.bands.find((b) =>
        b.fromMinute < b.toMinute ? local >= b.fromMinute && local < b.toMinute : local >= b.fromMinute || local < b.toMinute,
      )!;
      sum += band.fenPerKwh;
    }
    return sum;
  });
}

/** Every broken invariant, as text (checked in plain code: one expect per instance keeps the test fast). */
function violations(input: PlannerInput, result: PlannerResult): string[] {
  const out: string[] = [];
  const prices = slotPrices(input);
  const efficiency = chargeEfficiency(input.ambientC);
  if (result.schedules.length !== input.cars.length) out.push('one schedule per car');
  for (let s = 0; s < input.horizonSlots; s++) {
    const load = result.schedules.reduce((sum, x) => sum + x.slots[s]!.powerW, 0);
    if (load > input.stationCapW) out.push(`slot ${s}: ${load} W over the cap ${input.stationCapW} W`);
  }
  let total = 0;
  result.schedules.forEach((schedule, i) => {
    const c = input.cars[i]!;
    const derated = c.maxPowerW * powerDerate(input.ambientC);
    if (schedule.pileId !== c.pileId) out.push(`schedule ${i} is for ${schedule.pileId}`);
    let energy = 0;
    let cost = 0;
    schedule.slots.forEach((slot, s) => {
      if (!Number.isInteger(slot.powerW) || slot.powerW < 0) out.push(`${c.pileId} slot ${s}: power ${slot.powerW}`);
      if (slot.powerW > 0 && slot.powerW < (c.minPowerW ?? 0)) out.push(`${c.pileId} slot ${s}: ${slot.powerW} W under the minimum ${c.minPowerW} W`);
      if (slot.powerW > derated + 1e-6) out.push(`${c.pileId} slot ${s}: ${slot.powerW} W over the derated ${derated} W`);
      if (slot.powerW > 0 && c.departure && Date.parse(slot.start) + SLOT_MS > Date.parse(c.departure)) out.push(`${c.pileId} slot ${s}: after departure`);
      const wh = slot.powerW / 4;
      energy += wh;
      cost += Math.floor((wh * prices[s]! * 2 + 15_000) / 30_000);
    });
    if (schedule.energyWh !== energy) out.push(`${c.pileId}: energyWh ${schedule.energyWh} != Σ slots ${energy}`);
    if (schedule.costFen !== cost) out.push(`${c.pileId}: costFen ${schedule.costFen} != Σ slots ${cost}`);
    const room = (c.capacityWh * (100 - c.socPct)) / 100;
    if (schedule.storedWh > room + 1e-6 || schedule.energyWh * efficiency > room + 1e-6) out.push(`${c.pileId}: more than the battery's room ${room} Wh`);
    const onePlannedSlot = Math.ceil((c.minPowerW ?? 0) / 4);
    if (schedule.energyWh > Math.ceil(schedule.targetWh / efficiency) + 1 + onePlannedSlot)
      out.push(`${c.pileId}: ${schedule.energyWh} Wh drawn for ${schedule.targetWh} Wh to store`);
    if (schedule.storedWh + schedule.shortfallWh !== schedule.targetWh) out.push(`${c.pileId}: stored + shortfall != target`);
    total += cost;
  });
  if (result.costFen !== total) out.push(`costFen ${result.costFen} != Σ schedules ${total}`);
  return out;
}

/** Minimum-cost flow by successive shortest paths (Bellman-Ford): the exact optimum for small instances. */
function minCostFlow(input: PlannerInput, energyCaps: number[], windows: number[], perSlot: number[]): { flow: number; cost: number } {
  const n = input.cars.length;
  const T = input.horizonSlots;
  const capWh = Math.floor(input.stationCapW / 4);
  const prices = slotPrices(input);
  const source = n + T;
  const sink = source + 1;
  const edges: { to: number; cap: number; cost: number }[] = [];
  const adj: number[][] = Array.from({ length: sink + 1 }, () => []);
  const add = (u: number, v: number, cap: number, cost: number) => {
    adj[u]!.push(edges.length);
    edges.push({ to: v, cap, cost });
    adj[v]!.push(edges.length);
    edges.push({ to: u, cap: 0, cost: -cost });
  };
  for (let i = 0; i < n; i++) {
    add(source, i, energyCaps[i]!, 0);
    for (let s = 0; s < windows[i]!; s++) add(i, n + s, perSlot[i]!, 0);
  }
  for (let s = 0; s < T; s++) add(n + s, sink, capWh, prices[s]!);
  let flow = 0;
  let cost = 0;
  for (;;) {
    const dist = new Array<number>(sink + 1).fill(Infinity);
    const via = new Array<number>(sink + 1).fill(-1);
    dist[source] = 0;
    for (let changed = true; changed;) {
      changed = false;
      for (let u = 0; u <= sink; u++) {
        if (dist[u] === Infinity) continue;
        for (const e of adj[u]!) {
          const edge = edges[e]!;
          if (edge.cap > 0 && dist[u]! + edge.cost < dist[edge.to]!) {
            dist[edge.to] = dist[u]! + edge.cost;
            via[edge.to] = e;
            changed = true;
          }
        }
      }
    }
    if (dist[sink] === Infinity) return { flow, cost };
    let push = Infinity;
    for (let v = sink; v !== source; v = edges[via[v]! ^ 1]!.to) push = Math.min(push, edges[via[v]!]!.cap);
    for (let v = sink; v !== source; v = edges[via[v]! ^ 1]!.to) {
      edges[via[v]!]!.cap -= push;
      edges[via[v]! ^ 1]!.cap += push;
    }
    flow += push;
    cost += push * dist[sink]!;
  }
}

const exactCost = (input: PlannerInput, result: PlannerResult) => {
  const prices = slotPrices(input);
  return result.schedules.reduce((sum, x) => sum + x.slots.reduce((a, slot, s) => a + (slot.powerW / 4) * prices[s]!, 0), 0);
};

describe('property: random instances (seeded)', () => {
  const INSTANCES = 400;

  test(`${INSTANCES} instances: cap, car power, battery and cost invariants hold for the planner (also with minimum powers) and both baselines`, () => {
    const rand = seededRandom(20261126);
    for (let n = 0; n < INSTANCES; n++) {
      const input = randomInput(rand);
      const withMinimums = randomInput(seededRandom(n), true);
      expect({ n, broken: violations(withMinimums, planCharging(withMinimums)) }).toEqual({ n, broken: [] });
      for (const plan of [planCharging, planUncontrolled, planFlatLimit])
        expect({ n, plan: plan.name, broken: violations(input, plan(input)) }).toEqual({ n, plan: plan.name, broken: [] });
    }
  });

  test(`${INSTANCES} instances: the planner meets every deadline that can be met together, at the minimum cost`, () => {
    const rand = seededRandom(7);
    let allFeasible = 0;
    for (let n = 0; n < INSTANCES; n++) {
      // readyBeforeMinutes 0: the exact optimum (a buffer before departures costs a little).
      const input = { ...randomInput(rand), readyBeforeMinutes: 0 };
      const result = planCharging(input);
      const buffered = planCharging({ ...input, readyBeforeMinutes: 30 });
      const startMs = Date.parse(input.start);
      const efficiency = chargeEfficiency(input.ambientC);
      const perSlot = input.cars.map((c) => Math.floor((c.maxPowerW * powerDerate(input.ambientC)) / 4 + 1e-9));
      const windows = input.cars.map((c) =>
        c.departure ? Math.max(0, Math.min(input.horizonSlots, Math.floor((Date.parse(c.departure) - startMs) / SLOT_MS))) : input.horizonSlots,
      );
      const room = input.cars.map((c) => Math.floor((c.capacityWh * (100 - c.socPct)) / 100 + 1e-9));
      const demand = result.schedules.map((s, i) => Math.max(0, Math.min(Math.ceil(s.targetWh / efficiency - 1e-9), Math.floor(room[i]! / efficiency + 1e-9))));
      const best = minCostFlow(input, demand, windows, perSlot);
      const wanted = demand.reduce((a, b) => a + b, 0);
      if (best.flow === wanted) {
        allFeasible++;
        // Everything can be delivered: the planner delivers everything, at the optimal cost.
        expect(result.schedules.map((s) => s.energyWh)).toEqual(demand);
        expect(buffered.schedules.map((s) => s.energyWh)).toEqual(demand);
        expect(exactCost(input, result)).toBe(best.cost);
      } else {
        // Otherwise the cost is still optimal for the energy it does deliver.
        const same = minCostFlow(
          input,
          result.schedules.map((s) => s.energyWh),
          windows,
          perSlot,
        );
        expect(same.flow).toBe(result.schedules.reduce((a, s) => a + s.energyWh, 0));
        expect(exactCost(input, result)).toBe(same.cost);
      }
      // The order of the cars changes nothing but the order of the schedules.
      const reversed = planCharging({ ...input, cars: [...input.cars].reverse() });
      expect({ costFen: reversed.costFen, schedules: [...reversed.schedules].reverse() }).toEqual({ costFen: result.costFen, schedules: result.schedules });
      // The buffer never costs a deadline.
      expect(buffered.schedules.map((s) => s.energyWh)).toEqual(result.schedules.map((s) => s.energyWh));
      // And it is never beaten on deadlines by the baselines: whatever they meet together, it meets too.
      for (const baseline of [planUncontrolled(input), planFlatLimit(input)]) {
        const baselineMetAll = baseline.unmet.length === 0 && baseline.schedules.every((s) => s.meetsDeadline);
        if (baselineMetAll) expect(result.unmet).toEqual([]);
      }
    }
    expect(allFeasible).toBeGreaterThan(INSTANCES / 10);
  });
});
