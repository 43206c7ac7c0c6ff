// @ts-check
// OCPP benchmark set-up: migrates the bench database, creates a station and provisions N piles;
// writes their credentials to <work>/piles.json. Usage: node setup.js <databaseUrl> <work> <piles>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createPool } = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');
const { provisionPiles } = require('../../services/charging/dist');

async function main() {
  const [databaseUrl, work, count] = process.argv.slice(2);
  const db = createPool(databaseUrl, { max: 4 });
  await migrateDatabase(db);
  const { rows } = await db.query(
    `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ('OCPP bench', 31.2, 121.4, 200, 5000, 'open') RETURNING id`,
  );
  const piles = await provisionPiles(db, rows[0].id, Number(count), { prefix: 'BENCH-' });
  fs.writeFileSync(path.join(work, 'piles.json'), JSON.stringify(piles));
  await db.end();
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
