// @ts-check
// The baseline of the poll benchmark: a bare express 5 handler doing one Redis GET and res.json,
// as in PLATFORM-NOTES' calibration. Usage: node baseline.js <port>
'use strict';
const express = require('express');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const app = express();
app.get('/baseline', async (_req, res) => {
  res.json({ value: await redis.get('evshare-bench:baseline') });
});
redis.set('evshare-bench:baseline', JSON.stringify({ version: 1 })).then(() => app.listen(Number(process.argv[2]), '127.0.0.1'));
