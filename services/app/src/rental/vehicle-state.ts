/**
 * The vehicle state machine (states after the MDS vehicle states). Every change of
 * `vehicles.state` goes through `checkTransition`, and the SQL that applies it names the state it
 * expects (`WHERE state = $from`), so a transition decided on stale data changes nothing.
 */
export const VEHICLE_STATES = ['available', 'reserved', 'in_use', 'charging', 'maintenance', 'offline'] as const;
export type VehicleState = (typeof VEHICLE_STATES)[number];

const ALLOWED: Record<VehicleState, readonly VehicleState[]> = {
  available: ['reserved', 'in_use', 'charging', 'maintenance', 'offline'],
  // A held car is taken (rent) or released (cancel, expiry); an operator cancels the hold first.
  reserved: ['in_use', 'available'],
  // A car in use ends its trip (return, possibly onto a charging pile); its state while driving
  // does not change with the signal: the rental goes on.
  in_use: ['available', 'charging'],
  charging: ['available', 'maintenance', 'offline'],
  maintenance: ['available', 'offline'],
  offline: ['available', 'maintenance'],
};

/** Why a transition is refused, for the client (stable) and for people (readable). */
const REFUSAL_DETAIL: Partial<Record<VehicleState, string>> = {
  reserved: 'the car is held by a reservation; it must be taken or released first',
  in_use: 'the car is being driven; the rental must end first',
};

export type TransitionCheck = { ok: true } | { ok: false; reason: 'illegal-transition'; detail: string };

export function checkTransition(from: VehicleState, to: VehicleState): TransitionCheck {
  if (ALLOWED[from].includes(to)) return { ok: true };
  const why = REFUSAL_DETAIL[from] ?? `a car that is ${from.replace('_', ' ')} cannot become ${to.replace('_', ' ')}`;
  return { ok: false, reason: 'illegal-transition', detail: `Cannot go from ${from} to ${to}: ${why}` };
}

export function allowedTransitions(from: VehicleState): readonly VehicleState[] {
  return ALLOWED[from];
}
