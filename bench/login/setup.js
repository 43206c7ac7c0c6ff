// @ts-check
// Prepares the login storm: a fresh schema and MEMBERS members, seeded in one statement that
// shares one precomputed argon2id hash (hashing 50,000 passwords would take minutes of CPU).
// Usage: node setup.js <databaseUrl> <members>
'use strict';
const kit = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');
const { PASSWORD, account } = require('./common');

async function main() {
  const [databaseUrl, members] = process.argv.slice(2);
  const db = kit.createPool(databaseUrl);
  await migrateDatabase(db, kit.createLogger('bench', 'warn'));
  const hash = await kit.hashPassword(PASSWORD);
  await db.query(
    `INSERT INTO members (phone, display_name, password_hash)
     SELECT $3 || lpad(i::text, 7, '0'), 'Storm ' || i, $1 FROM generate_series(0, $2::int - 1) AS i`,
    [hash, Number(members), account(0).slice(0, -7)],
  );
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
