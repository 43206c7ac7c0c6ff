// @ts-check
// One load-generator process of the login storm (run.sh forks several). Modes:
//   capacity <gatewayUrl> <from> <to> <concurrency> <seconds>: closed loop, `concurrency` logins in
//     flight at once (as many as the auth tier has argon2 slots: the unloaded capacity);
//   storm <gatewayUrl> <from> <to>: members from..to-1 all start their login at once and retry by
//     the web UI's rule (the kit's withRetry: Retry-After with jitter, idempotency) until they are in.
// Prints one JSON line with what it saw.
'use strict';
const http = require('node:http');
const { withRetry } = require('../../services/kit/dist');
const { PASSWORD, account, sourceAddress } = require('./common');

const [mode, gatewayUrl, fromText, toText, ...rest] = process.argv.slice(2);
const from = Number(fromText);
const to = Number(toText);
const target = new URL('/api/v1/auth/login', gatewayUrl);
/** A member keeps tapping "log in" until it works; the rule's per-tap bound is the UI's. */
const STORM_POLICY = { attempts: 10_000, baseDelayMs: 250, maxDelayMs: 120_000 };
const TIMEOUT_MS = 60_000;

const statuses = {};
const count = (key) => (statuses[key] = (statuses[key] ?? 0) + 1);

function send(index) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ account: account(index), password: PASSWORD });
    const req = http.request(
      target,
      {
        method: 'POST',
        agent: false,
        localAddress: sourceAddress(index),
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          count(res.statusCode ?? 0);
          resolve({ status: res.statusCode ?? 0, headers: { get: (name) => /** @type {string | undefined} */ (res.headers[name]) ?? null } });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error) => {
      count(/** @type {NodeJS.ErrnoException} */ (error).code ?? 'network');
      reject(error);
    });
    req.end(body);
  });
}

async function capacity(concurrency, seconds) {
  const end = performance.now() + seconds * 1000;
  let next = from;
  let ok = 0;
  const loop = async () => {
    while (performance.now() < end && next < to) {
      const index = next++;
      const answer = await send(index).catch(() => undefined);
      if (answer?.status === 200) ok++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ok, seconds: (performance.now() - started) / 1000, statuses };
}

async function storm() {
  const started = performance.now();
  const doneAt = [];
  let attempts = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: to - from }, async (_, i) => {
      const index = from + i;
      let sends = 0;
      const answer = await withRetry(() => (sends++, send(index)), { method: 'POST' }, { policy: STORM_POLICY }).catch(() => undefined);
      attempts += sends;
      if (answer?.status === 200) doneAt.push(performance.now() - started);
      else failed++;
    }),
  );
  return { ok: doneAt.length, failed, attempts, seconds: (performance.now() - started) / 1000, doneAtMs: doneAt.map(Math.round), statuses };
}

(mode === 'capacity' ? capacity(Number(rest[0]), Number(rest[1])) : storm()).then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ mode, from, to, ...result })}\n`);
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
