import { bookEntry } from '@evshare/app';
import { hashPassword, withTransaction, type Logger, type Pool } from '@evshare/kit';

/** Development accounts, printed at start and listed in the README. Never seeded in a cluster. */
export const DEV_ACCOUNTS = {
  admin: { account: 'admin', password: 'evshare-admin', role: 'admin' as const, displayName: 'Administrator' },
  member: { account: '13800000000', password: 'evshare-demo', role: 'member' as const, displayName: 'Demo Member' },
};

export async function seedDevelopmentAccounts(db: Pool, log: Logger): Promise<void> {
  const { admin, member } = DEV_ACCOUNTS;
  await db.query(`INSERT INTO members (username, display_name, password_hash, role) VALUES ($1, $2, $3, 'admin') ON CONFLICT (username) DO NOTHING`, [
    admin.account,
    admin.displayName,
    await hashPassword(admin.password),
  ]);
  await db.query(`INSERT INTO members (phone, username, display_name, password_hash, role) VALUES ($1, 'demo', $2, $3, 'member') ON CONFLICT DO NOTHING`, [
    member.account,
    member.displayName,
    await hashPassword(member.password),
  ]);
  log.debug('development accounts present');
}

/**
 * A small demo fleet for `make run`: three stations in Shanghai, a pricing plan, two cars at each
 * station, and a wallet, deposit and approved licence for the demo member so it can rent at once.
 * Only when the database has no station yet.
 */
export async function seedDemoFleet(db: Pool, log: Logger): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM stations LIMIT 1');
  if (rowCount) return;
  const stations = [
    { name: '人民广场站 People’s Square', lat: 31.2304, lng: 121.4737, policy: 'open' },
    { name: '陆家嘴站 Lujiazui', lat: 31.2397, lng: 121.4998, policy: 'open' },
    { name: '徐家汇站 Xujiahui', lat: 31.1955, lng: 121.4374, policy: 'round-trip' },
  ];
  const ids: string[] = [];
  for (const station of stations) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ($1, $2, $3, 150, 8, $4) RETURNING id`,
      [station.name, station.lat, station.lng, station.policy],
    );
    ids.push(rows[0]!.id);
  }
  await db.query(
    `INSERT INTO pricing_plans (name, per_minute_fen, per_km_fen, daily_cap_fen, minimum_fen, reservation_fee_fen, hold_minutes, one_way_fee_fen, deposit_fen, valid_from)
     VALUES ('标准 Standard', 50, 80, 19900, 500, 200, 15, 1500, 50000, now() - interval '1 day')`,
  );
  let n = 0;
  for (const [i, stationId] of ids.entries()) {
    for (let k = 0; k < 2; k++) {
      n += 1;
      await db.query(
        `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id, lat, lng, soc_pct)
         VALUES ($1, $2, $3, 60, 420, $4, $4, $5, $6, $7)`,
        [
          `LDEMEVSHARE${String(n).padStart(6, '0')}`,
          `沪A·D${String(1000 + n)}`,
          k === 0 ? 'BYD Dolphin' : 'Wuling Bingo',
          stationId,
          stations[i]!.lat,
          stations[i]!.lng,
          60 + n * 5,
        ],
      );
    }
  }
  // The demo member's money goes through the ledger like anyone's (every balance is the sum of its
  // ledger lines): a top-up of ¥700, ¥500 of it moved to the deposit.
  const { rows } = await db.query<{ id: string }>(`UPDATE members SET licence_status = 'approved' WHERE phone = $1 RETURNING id`, [
    DEV_ACCOUNTS.member.account,
  ]);
  const memberId = rows[0]!.id;
  await withTransaction(db, async (tx) => {
    await bookEntry(tx, {
      memberId,
      reference: 'seed:demo:top-up',
      kind: 'top-up',
      amountFen: 70000,
      description: 'Demo top-up (development seed)',
      requestedBy: 'seed',
    });
    await bookEntry(tx, {
      memberId,
      reference: 'seed:demo:deposit',
      kind: 'deposit',
      amountFen: -50000,
      depositChangeFen: 50000,
      description: 'Moved to the deposit',
      requestedBy: 'seed',
    });
  });
  log.info({ stations: ids.length, vehicles: n }, 'demo fleet seeded');
}
