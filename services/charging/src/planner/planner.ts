import { FlowNetwork } from './flow';
import { buildModel, buildResult, type Model, type ModelCar } from './model';
import type { PlannerInput, PlannerResult } from './types';

export { PlannerInputError } from './model';

/**
 * Plans every parked car's charging in 15-minute slots (docs/charging-planner.md).
 *
 * The cars are all at their piles now, so each car can charge in a prefix of the horizon: the
 * slots before its departure. The network source → car (its energy) → slot (its power per slot)
 * → sink (the station cap per slot) then has a closed-form minimum cut: cutting the cap of k slots
 * is cheapest with the k earliest ones, since an earlier slot lies in the window of every car that
 * a later one does. So the most energy a set of cars can get (or a set of slots can carry) is
 *   min over k of  k·cap + Σ_car min(energy, perSlot · max(0, usableSlots − k)),
 * computed in O(cars × slots). Both steps below are the greedy algorithm on a polymatroid, which
 * is exact:
 *  1. deadlines first: cars in earliest-deadline order (least laxity breaks ties) each get the
 *     most energy possible without taking any from the cars before them;
 *  2. cost: slots from cheapest to dearest (earlier first among equals) each carry the most
 *     energy possible given that the cheaper ones carry theirs, with the step-1 energies fixed.
 * Step 2 fixes each slot's total; a maximum flow (warm-started by a least-laxity fill) splits the
 * totals between the cars (step 3). Every quantity is an integer Wh, so the plan is exact and
 * deterministic. Steps 2 and 3 aim to have the cars ready a little before departure where that
 * takes no energy from any car (readyEarly); piles with a minimum power then get the slots under it
 * closed and the flow re-routed (holdMinimumPower, step 4, a heuristic on top of the optimum).
 */
export function planCharging(input: PlannerInput): PlannerResult {
  const model = buildModel(input);
  const granted = grantEnergy(model);
  // Steps 2 and 3 work to the departures less the buffer where the granted energies still fit.
  const buffered = { ...model, cars: readyEarly(model, granted) };
  const loads = slotLoads(buffered, granted);
  return buildResult(model, splitLoads(buffered, granted, loads));
}

/** Step 1: each car's energy, deadlines first. */
function grantEnergy(model: Model): number[] {
  const { cars, slots, capWh } = model;
  const order = cars.map((_, i) => i);
  const laxity = (m: ModelCar) => m.slotMaxWh * m.windowSlots - m.reachableWh;
  order.sort((a, b) => {
    const x = cars[a]!;
    const y = cars[b]!;
    return (
      Number(!x.deadlineInHorizon) - Number(!y.deadlineInHorizon) ||
      x.windowSlots - y.windowSlots ||
      laxity(x) - laxity(y) ||
      compare(x.car.pileId, y.car.pileId)
    );
  });
  // cut[k]: the cut with the k earliest slots' caps, over the cars added so far.
  const cut = Array.from({ length: slots + 1 }, (_, k) => k * capWh);
  let carried = 0;
  const granted = new Array<number>(cars.length).fill(0);
  for (const i of order) {
    const m = cars[i]!;
    if (m.reachableWh === 0) continue;
    let best = Infinity;
    for (let k = 0; k <= slots; k++) {
      cut[k]! += Math.min(m.reachableWh, m.slotMaxWh * Math.max(0, m.windowSlots - k));
      if (cut[k]! < best) best = cut[k]!;
    }
    granted[i] = best - carried;
    carried = best;
  }
  return granted;
}

/** Most energy the cars can carry together, each at most `energy[i]` in its first `windows[i]` slots (the closed-form cut). */
function carried(model: Model, windows: number[], energy: number[]): number {
  let best = Infinity;
  for (let k = 0; k <= model.slots && k * model.capWh < best; k++) {
    let value = k * model.capWh;
    model.cars.forEach((m, i) => (value += Math.min(energy[i]!, m.slotMaxWh * Math.max(0, windows[i]! - k))));
    if (value < best) best = value;
  }
  return best;
}

/**
 * The plan does not know which cars will arrive next; a car planned to finish just at its
 * departure has no slack left when one with an earlier departure arrives. So each car with a
 * departure in the horizon is planned to be ready readyBeforeMinutes early, when the energies of
 * step 1 still fit: for every car if they do, else for the cars that (earliest deadline first) can
 * have it, else for none.
 */
function readyEarly(model: Model, granted: number[]): ModelCar[] {
  const total = granted.reduce((a, b) => a + b, 0);
  const full = model.cars.map((m) => m.windowSlots);
  const early = model.cars.map((m) => (m.deadlineInHorizon ? Math.max(0, m.windowSlots - model.bufferSlots) : m.windowSlots));
  if (model.bufferSlots === 0 || total === 0) return model.cars;
  const withWindows = (windows: number[]) => model.cars.map((m, i) => ({ ...m, windowSlots: windows[i]! }));
  if (carried(model, early, granted) === total) return withWindows(early);
  const some = grantEnergy({ ...model, cars: withWindows(early).map((m, i) => ({ ...m, reachableWh: Math.min(granted[i]!, m.slotMaxWh * m.windowSlots) })) });
  const mixed = model.cars.map((_, i) => (some[i] === granted[i] ? early[i]! : full[i]!));
  return carried(model, mixed, granted) === total ? withWindows(mixed) : model.cars;
}

/** Step 2: each slot's total energy, cheapest slots first. */
function slotLoads(model: Model, granted: number[]): number[] {
  const { cars, slots, capWh, fenMinutes } = model;
  const active = cars.map((m, i) => ({ perSlot: m.slotMaxWh, window: m.windowSlots, energy: granted[i]! })).filter((c) => c.energy > 0);
  const order = Array.from({ length: slots }, (_, s) => s).sort((a, b) => fenMinutes[a]! - fenMinutes[b]! || a - b);
  const loads = new Array<number>(slots).fill(0);
  // usable[c]: how many of the slots opened so far lie in car c's window.
  const usable = new Int32Array(active.length);
  let carried = 0;
  for (let opened = 1; opened <= slots; opened++) {
    const slot = order[opened - 1]!;
    for (let c = 0; c < active.length; c++) if (slot < active[c]!.window) usable[c]!++;
    let best = Infinity;
    for (let k = 0; k <= opened && k * capWh < best; k++) {
      let value = k * capWh;
      for (let c = 0; c < active.length && value < best; c++) {
        const car = active[c]!;
        value += Math.min(car.energy, car.perSlot * Math.max(0, usable[c]! - k));
      }
      if (value < best) best = value;
    }
    loads[slot] = best - carried;
    carried = best;
  }
  return loads;
}

/**
 * Splits the slot totals between the cars: a fill backwards in time, completed by a maximum flow;
 * then, for piles with a minimum power, no slot under it (holdMinimumPower).
 */
function splitLoads(model: Model, granted: number[], loads: number[]): number[][] {
  const { cars, slots } = model;
  const energy = cars.map(() => new Array<number>(slots).fill(0));
  const remaining = granted.slice();
  const left = loads.slice();
  // Cars in pile order, so that the split (and the per-slot rounding of costs) does not depend on the input's order.
  const canonical = cars.map((_, i) => i).sort((a, b) => compare(cars[a]!.car.pileId, cars[b]!.car.pileId));
  const rank = new Int32Array(cars.length);
  canonical.forEach((i, r) => (rank[i] = r));
  // Backwards in time: each slot first gives every car what it could no longer fit in the slots
  // before it, then shares the rest equally (smooth profiles) or, where piles have a minimum
  // power, in whole chunks to the most urgent cars (few slots under a minimum).
  for (let s = slots - 1; s >= 0; s--) {
    const eligible: number[] = [];
    for (const i of canonical) if (remaining[i]! > 0 && cars[i]!.windowSlots > s) eligible.push(i);
    const give = (i: number, wh: number) => {
      energy[i]![s] = energy[i]![s]! + wh;
      remaining[i] = remaining[i]! - wh;
      left[s] = left[s]! - wh;
    };
    for (const i of eligible) give(i, Math.min(left[s]!, cars[i]!.slotMaxWh, Math.max(0, remaining[i]! - cars[i]!.slotMaxWh * s)));
    const room = (i: number) => Math.min(remaining[i]!, cars[i]!.slotMaxWh - energy[i]![s]!);
    if (eligible.some((i) => cars[i]!.slotMinWh > 0)) {
      const urgency = (i: number) => remaining[i]! - cars[i]!.slotMaxWh * s;
      eligible.sort((a, b) => urgency(b) - urgency(a) || rank[a]! - rank[b]!);
      for (const i of eligible) give(i, Math.min(room(i), left[s]!));
    } else {
      eligible.sort((a, b) => room(a) - room(b) || rank[a]! - rank[b]!);
      eligible.forEach((i, n) => give(i, Math.min(room(i), Math.floor(left[s]! / (eligible.length - n)))));
    }
  }
  const missing = remaining.reduce((a, b) => a + b, 0);
  const underMinimum = (i: number, s: number) => energy[i]![s]! > 0 && energy[i]![s]! < cars[i]!.slotMinWh;
  const anyUnder = () => cars.some((m, i) => m.slotMinWh > 0 && energy[i]!.some((_, s) => underMinimum(i, s)));
  if (missing === 0 && !anyUnder()) return energy;

  const net = new SplitNetwork(model, canonical, granted, loads, energy);
  const added = net.network.maxFlow(net.source, net.sink);
  if (added !== missing) throw new Error(`planner invariant broken: split ${added} of ${missing} Wh`);
  net.read(energy);
  if (anyUnder()) holdMinimumPower(model, net, energy, canonical);
  return energy;
}

/** The split as a flow network: source → car (its energy) → slot (its power) → sink (the slot's total). */
class SplitNetwork {
  readonly network: FlowNetwork;
  readonly source: number;
  readonly sink: number;
  /** Edge id of car i → slot s at i * slots + s, -1 where the car cannot charge. */
  readonly carSlot: Int32Array;
  readonly carEdge: Int32Array;
  readonly slotEdge: Int32Array;

  constructor(
    private readonly model: Model,
    canonical: number[],
    granted: number[],
    loads: number[],
    energy: number[][],
  ) {
    const { cars, slots } = model;
    this.source = cars.length + slots;
    this.sink = this.source + 1;
    this.network = new FlowNetwork(this.sink + 1);
    this.carSlot = new Int32Array(cars.length * slots).fill(-1);
    this.carEdge = new Int32Array(cars.length).fill(-1);
    this.slotEdge = new Int32Array(slots);
    for (const i of canonical) {
      if (granted[i] === 0) continue;
      const row = energy[i]!;
      this.carEdge[i] = this.network.addEdge(
        this.source,
        i,
        granted[i]!,
        row.reduce((a, b) => a + b, 0),
      );
      for (let s = 0; s < cars[i]!.windowSlots; s++) this.carSlot[i * slots + s] = this.network.addEdge(i, cars.length + s, cars[i]!.slotMaxWh, row[s]);
    }
    for (let s = 0; s < slots; s++) {
      const used = energy.reduce((sum, row) => sum + row[s]!, 0);
      this.slotEdge[s] = this.network.addEdge(cars.length + s, this.sink, loads[s]!, used);
    }
  }

  read(energy: number[][]): void {
    const { cars, slots } = this.model;
    for (let i = 0; i < cars.length; i++) {
      for (let s = 0; s < slots; s++) {
        const id = this.carSlot[i * slots + s]!;
        energy[i]![s] = id === -1 ? 0 : this.network.flow(id);
      }
    }
  }

  /** Takes car i's energy out of slot s and closes that edge for good. */
  close(i: number, s: number): void {
    const id = this.carSlot[i * this.model.slots + s]!;
    const wh = this.network.flow(id);
    this.network.set(id, 0, 0);
    for (const edge of [this.carEdge[i]!, this.slotEdge[s]!]) this.network.set(edge, this.network.capacity(edge), this.network.flow(edge) - wh);
  }
}

/**
 * Piles with a minimum power, in rounds. (1) A car charging under its minimum in some slot loses
 * that slot and every slot it does not charge in, and the flow is re-routed: its energy goes into
 * its remaining slots, other cars moving where the cap is full (first within the slot totals, then
 * through the other slots' spare cap, cheapest first). (2) A car still short gets a new slot,
 * cheapest first, with at least its minimum reserved in it: the other cars' energy there is
 * re-routed by the flow (the attempt is undone if that leaves any car shorter); a last part under
 * the minimum is topped up from the car's other slots or, failing that, drawn a little beyond the
 * plan if the battery can take it. Repeated while anything changes; what is still under a minimum
 * is dropped and shows as a shortfall. Not part of the exact optimum: some energy moves to dearer
 * slots.
 */
function holdMinimumPower(model: Model, net: SplitNetwork, energy: number[][], canonical: number[]): void {
  const { cars, slots, capWh, fenMinutes } = model;
  const cheapestFirst = Array.from({ length: slots }, (_, s) => s).sort((a, b) => fenMinutes[a]! - fenMinutes[b]! || a - b);
  const dearestFirst = [...cheapestFirst].reverse();
  const urgentFirst = [...canonical].sort((a, b) => cars[a]!.windowSlots - cars[b]!.windowSlots);
  const flexibleFirst = [...urgentFirst].reverse();
  const { network, source, sink } = net;
  const edgeOf = (i: number, s: number) => net.carSlot[i * slots + s]!;
  const flowOf = (i: number, s: number) => (edgeOf(i, s) === -1 ? 0 : network.flow(edgeOf(i, s)));
  const short = (i: number) => (net.carEdge[i] === -1 ? 0 : network.capacity(net.carEdge[i]!) - network.flow(net.carEdge[i]!));
  /** Energy fixed outside the network: slots reserved at a minimum. */
  const fixed = cars.map(() => new Array<number>(slots).fill(0));
  const reservedIn = new Array<number>(slots).fill(0);
  /** Lowers an edge's flow and the flows on its car's and slot's edges. */
  const cancel = (i: number, s: number, wh: number) => {
    const id = edgeOf(i, s);
    network.set(id, network.capacity(id), network.flow(id) - wh);
    for (const edge of [net.carEdge[i]!, net.slotEdge[s]!]) network.set(edge, network.capacity(edge), network.flow(edge) - wh);
  };
  const reroute = () => {
    network.maxFlow(source, sink);
    for (const s of cheapestFirst) {
      if (!canonical.some((i) => short(i) > 0)) break;
      const edge = net.slotEdge[s]!;
      if (network.capacity(edge) < capWh - reservedIn[s]!) {
        network.set(edge, capWh - reservedIn[s]!, network.flow(edge));
        network.maxFlow(source, sink);
      }
    }
  };
  /** Reserves `amount` for car i in slot s; undone unless car i is served and no other car ends up shorter. */
  const reserve = (i: number, s: number, amount: number): boolean => {
    const m = cars[i]!;
    network.begin();
    const before = canonical.map(short);
    const carEdge = net.carEdge[i]!;
    const missing = short(i);
    const fixedBefore = fixed[i]!.reduce((a, b) => a + b, 0);
    // Slot s may carry `amount` more, up to the cap; the others' flow beyond the rest goes elsewhere.
    const slotEdge = net.slotEdge[s]!;
    const others = Math.min(network.capacity(slotEdge) + amount, capWh - reservedIn[s]!) - amount;
    if (others < 0) {
      network.rollback();
      return false;
    }
    let excess = network.flow(slotEdge) - others;
    for (const j of flexibleFirst) {
      if (excess <= 0) break;
      if (j === i || edgeOf(j, s) === -1) continue;
      const take = Math.min(excess, network.flow(edgeOf(j, s)));
      if (take > 0) cancel(j, s, take);
      excess -= take;
    }
    network.set(slotEdge, others, network.flow(slotEdge));
    // Car i needs `amount` less from the network; beyond what it missed, its other slots give it back.
    let over = Math.max(0, amount - missing);
    for (const u of dearestFirst) {
      if (over === 0) break;
      const give = Math.min(over, flowOf(i, u) - m.slotMinWh);
      if (u !== s && give > 0) {
        cancel(i, u, give);
        over -= give;
      }
    }
    // What they cannot give back is drawn beyond the plan, if the battery can take it.
    const rest = amount <= missing ? network.capacity(carEdge) - amount : network.flow(carEdge);
    if (fixedBefore + amount + rest > m.roomGridWh) {
      network.rollback();
      return false;
    }
    network.set(carEdge, rest, network.flow(carEdge));
    network.set(edgeOf(i, s), 0, 0);
    reservedIn[s] = reservedIn[s]! + amount;
    reroute();
    if (short(i) > 0 || canonical.some((j, k) => short(j) > before[k]!)) {
      network.rollback();
      reservedIn[s] = reservedIn[s] - amount;
      return false;
    }
    network.commit();
    fixed[i]![s] = amount;
    return true;
  };

  let attempts = 0;
  for (let round = 0; round < 20; round++) {
    let changed = false;
    net.read(energy);
    for (const i of canonical) {
      const min = cars[i]!.slotMinWh;
      const row = energy[i]!;
      if (!row.some((wh) => wh > 0 && wh < min)) continue;
      for (let s = 0; s < cars[i]!.windowSlots; s++) {
        if (row[s]! < min && network.capacity(edgeOf(i, s)) > 0) {
          net.close(i, s);
          changed = true;
        }
      }
    }
    if (changed) reroute();
    for (const i of urgentFirst) {
      const m = cars[i]!;
      if (m.slotMinWh === 0 || short(i) === 0) continue;
      for (const s of cheapestFirst) {
        if (short(i) === 0 || attempts >= 4 * cars.length) break;
        if (s >= m.windowSlots || fixed[i]![s]! > 0 || flowOf(i, s) > 0) continue;
        attempts++;
        if (reserve(i, s, Math.max(m.slotMinWh, Math.min(short(i), m.slotMaxWh)))) changed = true;
      }
    }
    if (!changed) break;
  }
  net.read(energy);
  energy.forEach((row, i) =>
    row.forEach((wh, s) => {
      const sum = wh + fixed[i]![s]!;
      // Still under a minimum after the last round: dropped.
      row[s] = sum > 0 && sum < cars[i]!.slotMinWh ? 0 : sum;
    }),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
