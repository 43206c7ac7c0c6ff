// @ts-check
// Prepares the poll benchmark against real servers: a fresh database with the schema, one member,
// SESSIONS sessions of that member, and wrk Lua scripts that send them. Prints the member's ETag
// request target for the runner. Usage: node setup.js <databaseUrl> <workDir> <sessions> <keyPrefix>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const kit = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');

async function main() {
  const [databaseUrl, workDir, sessionCount, keyPrefix] = process.argv.slice(2);
  const log = kit.createLogger('bench', 'warn');
  const db = kit.createPool(databaseUrl);
  await migrateDatabase(db, log);
  const hash = await kit.hashPassword('bench-password');
  const { rows } = await db.query(
    `INSERT INTO members (phone, display_name, password_hash) VALUES ('13812345678', 'Bench Member', $1)
     ON CONFLICT (phone) DO UPDATE SET display_name = excluded.display_name RETURNING id`,
    [hash],
  );
  const store = kit.createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix });
  const bus = kit.createMemoryBus();
  const sessions = kit.createSessionStore({ store, bus, ttlMs: 3600_000 });
  const keys = [];
  for (let i = 0; i < Number(sessionCount); i++) keys.push((await sessions.create({ memberId: rows[0].id, role: 'member', address: '127.0.0.1' })).key);
  const lua = (withEtag, many) => `
local keys = {${(many ? keys : keys.slice(0, 1)).map((k) => `"${k}"`).join(',')}}
local n = 0
request = function()
  n = n + 1
  local headers = { ["Authorization"] = "Bearer " .. keys[(n % #keys) + 1] }
  ${withEtag ? 'headers["If-None-Match"] = os.getenv("ETAG")' : ''}
  return wrk.format("GET", "/api/v1/sync", headers)
end`;
  fs.writeFileSync(path.join(workDir, 'poll-304-one.lua'), lua(true, false));
  fs.writeFileSync(path.join(workDir, 'poll-304-many.lua'), lua(true, true));
  fs.writeFileSync(path.join(workDir, 'poll-200-one.lua'), lua(false, false));
  fs.writeFileSync(path.join(workDir, 'key'), keys[0]);
  sessions.close();
  await store.close();
  await bus.close();
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
