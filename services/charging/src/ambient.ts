import type { Logger, Pool } from '@evshare/kit';

/**
 * A station's outside temperature from a weather feed (docs/charging.md, "Ambient temperature").
 * The feed answers JSON in the shape of Open-Meteo's current weather
 * (`{"current": {"temperature_2m": 7.4}}`, e.g.
 * `https://api.open-meteo.com/v1/forecast?latitude=31.24&longitude=121.5&current=temperature_2m`).
 * A reading outside -50..60 °C, or any other answer, is no reading: the last good value stays.
 */
export function ambientReading(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const current = (body as { current?: unknown }).current;
  if (typeof current !== 'object' || current === null) return undefined;
  const value = (current as { temperature_2m?: unknown }).temperature_2m;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -50 || value > 60) return undefined;
  return Math.round(value * 10) / 10;
}

/** A weather answer is a few hundred bytes; anything far larger is not one. */
const MAX_FEED_BYTES = 64 * 1024;

async function readFeed(url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`feed answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_FEED_BYTES) throw new Error('feed answer too large');
  return JSON.parse(text);
}

export interface AmbientFeeds {
  /** One round: every station whose feed is due is read (by exactly one instance). */
  poll(): Promise<void>;
}

export function createAmbientFeeds(options: { db: Pool; log: Logger; intervalMs: number; timeoutMs: number; onChange(stationId: string): void }): AmbientFeeds {
  const { db, log } = options;
  return {
    async poll() {
      // Claiming the row makes the other instances skip it until the interval has passed.
      const { rows } = await db.query<{ id: string; url: string; ambientC: number | null }>(
        `UPDATE stations s SET ambient_polled_at = now() FROM (
           SELECT id FROM stations WHERE ambient_feed_url IS NOT NULL AND (ambient_polled_at IS NULL OR ambient_polled_at < now() - make_interval(secs => $1 / 1000.0))
           ORDER BY ambient_polled_at NULLS FIRST LIMIT 200 FOR UPDATE SKIP LOCKED
         ) due WHERE s.id = due.id RETURNING s.id, s.ambient_feed_url AS url, s.ambient_c::float8 AS "ambientC"`,
        [options.intervalMs],
      );
      await Promise.all(
        rows.map(async (station) => {
          let reading: number | undefined;
          try {
            reading = ambientReading(await readFeed(station.url, options.timeoutMs));
          } catch (error) {
            log.warn({ err: error, stationId: station.id }, 'weather feed not read; the last reading stays');
            return;
          }
          if (reading === undefined) {
            log.warn({ stationId: station.id }, 'weather feed answered no temperature in -50..60 °C; the last reading stays');
            return;
          }
          // Only while the feed is still the station's source (an operator may have changed it meanwhile).
          const { rowCount } = await db.query('UPDATE stations SET ambient_c = $2, ambient_updated_at = now() WHERE id = $1 AND ambient_feed_url = $3', [
            station.id,
            reading,
            station.url,
          ]);
          if (rowCount && reading !== station.ambientC) options.onChange(station.id);
        }),
      );
    },
  };
}
