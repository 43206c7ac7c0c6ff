import type { Router } from 'express';
import { chargingOperations as ops } from '@evshare/api';
import type { StationCharging } from '@evshare/api/schemas';
import { mountRoutes, problems, route, type Pool, type SessionGuard } from '@evshare/kit';
import { hashPilePassword, newPilePassword } from './credentials';

/**
 * Operators onboard piles and set their stations' charging limits through the API (no SQL):
 * register a pile (its password is answered once and only its hash is kept), rotate the password,
 * change the rated power, and set a station's grid cap and ambient-temperature source.
 */
const STATION_CHARGING_COLUMNS = `id AS "stationId", charging_cap_w AS "chargingCapW", ambient_c::float8 AS "ambientC", ambient_feed_url AS "ambientFeedUrl",
  to_char(ambient_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "ambientUpdatedAt"`;

export interface PileAdminContext {
  db: Pool;
  session: SessionGuard;
  /** Replans the station: its piles, cap or temperature changed. */
  onStationChange(stationId: string): void;
  /** Plain-http weather feeds (AMBIENT_FEED_ALLOW_HTTP: tests and a cluster-local feed); https only otherwise, so a typo cannot send the poller to plain HTTP. */
  allowHttpFeeds: boolean;
}

const stationMissing = (name: string) => problems.validation([{ name, reason: 'no such station' }]);

export function pileAdminRoutes(router: Router, ctx: PileAdminContext): void {
  const { db } = ctx;
  const base = '/api/v1/charging';

  const pileRow = async (id: string) => {
    const { rows } = await db.query('SELECT id, station_id AS "stationId", max_power_w AS "maxPowerW", enabled, state FROM piles WHERE id = $1', [id]);
    return rows[0] as { id: string; stationId: string; maxPowerW: number; enabled: boolean; state: string } | undefined;
  };

  mountRoutes(
    router,
    [
      route(ops.registerPile, async ({ body }, _req, res) => {
        const password = newPilePassword();
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO piles (id, station_id, password_hash, max_power_w) SELECT $1, s.id, $3, $4 FROM stations s WHERE s.id = $2
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [body.id, body.stationId, await hashPilePassword(password), body.maxPowerW],
        );
        if (!rows[0]) {
          if (await pileRow(body.id)) throw problems.conflict('pile-exists', `A pile ${body.id} is already registered; rotate its password instead`);
          throw stationMissing('body.stationId');
        }
        ctx.onStationChange(body.stationId);
        // The only time the password is readable: it goes into the pile's configuration now.
        res
          .status(201)
          .location(`${base}/piles/${body.id}`)
          .json({ ...(await pileRow(body.id))!, password });
      }),

      route(ops.rotatePilePassword, async ({ params: { id } }, _req, res) => {
        const password = newPilePassword();
        const { rowCount } = await db.query('UPDATE piles SET password_hash = $2, updated_at = now() WHERE id = $1', [id, await hashPilePassword(password)]);
        if (!rowCount) throw problems.notFound(`No pile ${id}`);
        res.json({ id, password });
      }),

      route(ops.patchPile, async ({ params: { id }, body }, _req, res) => {
        const before = await pileRow(id);
        if (!before) throw problems.notFound(`No pile ${id}`);
        const { rowCount } = await db.query(
          `UPDATE piles p SET max_power_w = coalesce($2, p.max_power_w), station_id = coalesce(s.id, p.station_id), updated_at = now()
             FROM (SELECT $3::uuid AS wanted) w LEFT JOIN stations s ON s.id = w.wanted
            WHERE p.id = $1 AND (w.wanted IS NULL OR s.id IS NOT NULL)`,
          [id, body.maxPowerW ?? null, body.stationId ?? null],
        );
        if (!rowCount) throw stationMissing('body.stationId');
        const after = (await pileRow(id))!;
        ctx.onStationChange(before.stationId);
        if (after.stationId !== before.stationId) ctx.onStationChange(after.stationId);
        res.json(after);
      }),

      route(ops.stationCharging, async ({ params: { id } }, _req, res) => {
        const { rows } = await db.query<StationCharging>(`SELECT ${STATION_CHARGING_COLUMNS} FROM stations WHERE id = $1`, [id]);
        if (!rows[0]) throw problems.notFound('No such station');
        res.json(rows[0]);
      }),

      route(ops.setStationCharging, async ({ params: { id }, body }, _req, res) => {
        const ambient = body.ambient;
        if (ambient?.source === 'feed' && !ctx.allowHttpFeeds && !ambient.url.startsWith('https://')) {
          throw problems.validation([{ name: 'body.ambient.url', reason: 'must be an https URL' }]);
        }
        // Each part is changed only when given; a new source replaces the old one and its value.
        const { rows } = await db.query<StationCharging>(
          `UPDATE stations SET
             charging_cap_w = CASE WHEN $2 THEN $3::int ELSE charging_cap_w END,
             ambient_c = CASE WHEN $4::text IS NULL THEN ambient_c WHEN $4 = 'value' THEN $5::numeric ELSE NULL END,
             ambient_feed_url = CASE WHEN $4::text IS NULL THEN ambient_feed_url WHEN $4 = 'feed' THEN $6 ELSE NULL END,
             ambient_updated_at = CASE WHEN $4::text IS NULL THEN ambient_updated_at WHEN $4 = 'value' THEN now() ELSE NULL END,
             updated_at = now()
           WHERE id = $1 RETURNING ${STATION_CHARGING_COLUMNS}`,
          [
            id,
            body.chargingCapW !== undefined,
            body.chargingCapW ?? null,
            ambient?.source ?? null,
            ambient?.source === 'value' ? ambient.celsius : null,
            ambient?.source === 'feed' ? ambient.url : null,
          ],
        );
        if (!rows[0]) throw problems.notFound('No such station');
        ctx.onStationChange(id);
        res.json(rows[0]);
      }),
    ],
    { session: ctx.session },
  );
}
