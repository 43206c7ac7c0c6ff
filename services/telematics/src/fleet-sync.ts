import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { withTransaction, type Logger, type Pool } from '@evshare/kit';
import { applyFleetDelta, chainDeltas, decodeEntry, diffFleet, emptyFleetList, pageFleet, type FleetList, type FleetPage } from './fleet-list';
import type { VehicleCommandMessage } from './protocol';

export interface FleetSyncDeps {
  db: Pool;
  log: Logger;
  /** Sends one command to one car (resolves when the broker has it). */
  send(vin: string, command: VehicleCommandMessage): Promise<void>;
  /** The cars whose last status said online. */
  online(): string[];
  expiresAt(): string;
  /** Largest entries part of one delta or page (one MQTT packet, under Mosquitto's max_packet_size). */
  pageBytes: number;
  debounceMs: number;
  onSent(kind: 'fleet-delta' | 'fleet-full', count: number): void;
}

class StaleFleetList extends Error {}

/**
 * Every member eligible to rent: active, not staff (operators are granted one car at a time),
 * licence approved and not past its expiry day (UTC), no debt, and the deposit the fleet-wide plan in force
 * asks for. One query, for some members or all of them.
 */
const ELIGIBLE = `
  SELECT m.id AS "memberId", coalesce(array_agg(c.uid ORDER BY c.uid) FILTER (WHERE c.uid IS NOT NULL), '{}') AS "cardUids"
    FROM members m LEFT JOIN membership_cards c ON c.member_id = m.id
   WHERE m.status = 'active' AND m.role = 'member' AND m.licence_status = 'approved'
     AND (m.licence_expires_on IS NULL OR m.licence_expires_on >= (now() AT TIME ZONE 'UTC')::date)
     AND m.wallet_balance_fen >= 0 AND m.debt_fen = 0
     AND m.deposit_fen >= coalesce((SELECT p.deposit_fen FROM pricing_plans p WHERE p.valid_from <= now() AND (p.valid_to IS NULL OR p.valid_to > now())
                                       AND p.vehicle_model IS NULL AND p.station_id IS NULL
                                     ORDER BY p.valid_from DESC LIMIT 1), 0)
     AND ($1::uuid[] IS NULL OR m.id = ANY($1::uuid[]))
   GROUP BY m.id`;

/**
 * The platform's side of the fleet list: held in memory (and in fleet_whitelist, versioned by
 * fleet_whitelist_version), recomputed for the members a notification names (channel
 * member_access) or for everyone, each change stored as the next versions and sent as the same
 * delta to every online car. Licence expiry is time-driven: a timer on the earliest expiry of a
 * listed member recomputes them when it passes.
 */
export function createFleetSync(deps: FleetSyncDeps) {
  const { db, log } = deps;
  let list: FleetList = emptyFleetList();
  let pages: FleetPage[] | undefined;
  let running: Promise<void> = Promise.resolve();
  let expiryTimer: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;
  const pending = new Set<string>();
  let pendingAll = false;

  async function load(): Promise<void> {
    const { rows: versions } = await db.query<{ version: string }>('SELECT version FROM fleet_whitelist_version');
    const { rows } = await db.query<{ memberId: string; cardUids: string[] }>('SELECT member_id AS "memberId", card_uids AS "cardUids" FROM fleet_whitelist');
    list = { version: Number(versions[0]?.version ?? 0), members: new Map(rows.map((r) => [r.memberId, r.cardUids])) };
    pages = undefined;
  }

  async function eligible(ids: string[] | undefined): Promise<Map<string, string[]>> {
    const { rows } = await db.query<{ memberId: string; cardUids: string[] }>(ELIGIBLE, [ids ?? null]);
    return new Map(rows.map((r) => [r.memberId, r.cardUids]));
  }

  async function write(ids: string[] | undefined): Promise<void> {
    const change = diffFleet(list.members, await eligible(ids), ids);
    const deltas = chainDeltas(list.version, change, deps.pageBytes);
    if (deltas.length === 0) return;
    const version = deltas.at(-1)!.version;
    await withTransaction(db, async (c) => {
      const { rowCount } = await c.query('UPDATE fleet_whitelist_version SET version = $2, updated_at = now() WHERE version = $1', [list.version, version]);
      if (!rowCount) throw new StaleFleetList();
      if (change.remove.length > 0) await c.query('DELETE FROM fleet_whitelist WHERE member_id = ANY($1::uuid[])', [change.remove]);
      const added = deltas.flatMap((d) => d.add.map((entry) => ({ ...decodeEntry(entry), version: d.version })));
      if (added.length > 0) {
        await c.query(
          `INSERT INTO fleet_whitelist (member_id, card_uids, version) SELECT m, array(SELECT jsonb_array_elements_text(cards)), v
             FROM unnest($1::uuid[], $2::jsonb[], $3::bigint[]) AS d(m, cards, v)
           ON CONFLICT (member_id) DO UPDATE SET card_uids = excluded.card_uids, version = excluded.version`,
          [added.map((a) => a.memberId), added.map((a) => JSON.stringify(a.cards)), added.map((a) => a.version)],
        );
      }
    });
    for (const delta of deltas) {
      const applied = applyFleetDelta(list, delta);
      if (applied.ok) list = applied.list;
    }
    pages = undefined;
    const online = deps.online();
    for (const delta of deltas) {
      await Promise.all(online.map((vin) => deps.send(vin, { commandId: randomUUID(), expiresAt: deps.expiresAt(), action: 'fleet-delta', delta })));
      deps.onSent('fleet-delta', online.length);
    }
  }

  /** Recomputes these members (undefined: all), stores and sends what changed. */
  async function recompute(ids?: string[]): Promise<void> {
    try {
      await write(ids);
    } catch (error) {
      if (!(error instanceof StaleFleetList)) throw error;
      // Another instance moved the list: start from what it stored.
      await load();
      await write(ids);
    }
    await planExpiry();
  }

  /** Runs one recompute after another (the version moves in order). */
  const queue = (ids?: string[]): Promise<void> => {
    const next = running.then(() => recompute(ids));
    running = next.catch(() => undefined);
    return next;
  };

  async function planExpiry(): Promise<void> {
    clearTimeout(expiryTimer);
    if (stopped) return;
    const { rows } = await db.query<{ at: Date | null }>(
      `SELECT min(((m.licence_expires_on + 1)::timestamp) AT TIME ZONE 'UTC') AS at FROM fleet_whitelist f JOIN members m ON m.id = f.member_id
        WHERE m.licence_expires_on IS NOT NULL`,
    );
    const at = rows[0]?.at;
    if (!at) return;
    expiryTimer = setTimeout(
      () => {
        void queue(undefined).catch((error: unknown) => log.warn({ err: error }, 'fleet list: licence expiry recompute failed'));
      },
      Math.min(2 ** 31 - 1, Math.max(0, at.getTime() - Date.now()) + 20),
    );
    expiryTimer.unref();
  }

  /** A notification's payload: a member id, or '*' for everyone; gathered for a quiet time. */
  function schedule(payload: string): void {
    if (payload === '*') pendingAll = true;
    else if (z.string().uuid().safeParse(payload).success) pending.add(payload);
    else return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      const ids = pendingAll ? undefined : [...pending];
      pending.clear();
      pendingAll = false;
      queue(ids).catch((error: unknown) => {
        log.warn({ err: error }, 'fleet list recompute failed; retrying every member');
        if (!stopped) setTimeout(() => schedule('*'), 2_000).unref();
      });
    }, deps.debounceMs);
  }

  /** The full list to these cars, in pages (computed once per version). */
  async function sendFull(vins: string[]): Promise<void> {
    if (vins.length === 0) return;
    pages ??= pageFleet(list, deps.pageBytes);
    const current = pages;
    await Promise.all(
      vins.map(async (vin) => {
        for (const page of current) await deps.send(vin, { commandId: randomUUID(), expiresAt: deps.expiresAt(), action: 'fleet-full', ...page });
      }),
    );
    deps.onSent('fleet-full', vins.length);
  }

  return {
    load,
    recompute: queue,
    schedule,
    sendFull,
    get version() {
      return list.version;
    },
    get size() {
      return list.members.size;
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(debounce);
      clearTimeout(expiryTimer);
      await running;
    },
  };
}
export type FleetSync = ReturnType<typeof createFleetSync>;
