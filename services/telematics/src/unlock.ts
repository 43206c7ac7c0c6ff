import { fleetMemberByCard, type FleetList } from './fleet-list';
import { entryValid, findAllowed, type Credential, type Whitelist } from './whitelist';

/**
 * What a terminal decides, alone, when a card or an app key is presented (claim 7: the car
 * decides locally; billing stays in the back end). Pure; the simulator and the tests use it.
 *
 * 1. The car's own list (its renter, operators granted this car) opens it for them.
 * 2. A car held by someone (a reservation or a rental: a renter entry) opens for nobody else.
 * 3. A car on a trip opens only for the member driving it.
 * 4. Otherwise any member on the fleet list may walk up and take it.
 */
export type UnlockDecision = { granted: true; memberId: string; source: 'car' | 'fleet' } | { granted: false; reason: 'not-listed' | 'held' | 'in-use' };

export function decideUnlock(lists: { car: Whitelist; fleet: FleetList; tripMemberId?: string }, credential: Credential, now: number): UnlockDecision {
  const own = findAllowed(lists.car, credential, now);
  if (own) {
    if (lists.tripMemberId !== undefined && own.role === 'renter' && own.memberId !== lists.tripMemberId) return { granted: false, reason: 'in-use' };
    return { granted: true, memberId: own.memberId, source: 'car' };
  }
  if (lists.car.entries.some((e) => e.role === 'renter' && entryValid(e, now))) return { granted: false, reason: 'held' };
  const memberId =
    'cardUid' in credential
      ? fleetMemberByCard(lists.fleet, credential.cardUid)
      : lists.fleet.members.has(credential.memberId)
        ? credential.memberId
        : undefined;
  if (lists.tripMemberId !== undefined && memberId !== lists.tripMemberId) return { granted: false, reason: memberId === undefined ? 'not-listed' : 'in-use' };
  return memberId === undefined ? { granted: false, reason: 'not-listed' } : { granted: true, memberId, source: 'fleet' };
}
