#!/usr/bin/env node
// Usage: node bench/gateway/parse-micro.js <repository root with services/gateway built>
// Per-request JS cost of the gateway's request parsing and header rewriting (the code the
// hardening changed), before vs after, on the bench's request (wrk GET /api/v1/sync).
const dir = process.argv[2];
const http1 = require(`${dir}/services/gateway/dist/http1.js`);
const headers = require(`${dir}/services/gateway/dist/headers.js`);
let trust;
try {
  trust = require(`${dir}/services/gateway/dist/trust.js`).parseTrustProxy('false');
} catch {
  trust = undefined;
}
const head =
  'GET /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: evshare-member/1.0\r\nAccept: application/json\r\nAuthorization: Bearer 0123456789abcdef0123456789abcdef\r\nIf-None-Match: "v1-42"\r\nConnection: keep-alive';
const options = trust ? { socketAddress: '127.0.0.1', trust, upgrade: false } : { socketAddress: '127.0.0.1', trustForwarded: false, upgrade: false };
const N = 400000;
let sink = 0;
const once = () => {
  const parsed = http1.parseRequestHead(head);
  const facts = headers.forwardRequestHeaders(parsed.headers, options);
  sink += headers.fieldLines(facts.headers).length;
};
for (let i = 0; i < 50000; i++) once();
const t = process.hrtime.bigint();
for (let i = 0; i < N; i++) once();
const ns = Number(process.hrtime.bigint() - t) / N;
console.log(`${dir} ${ns.toFixed(0)} ns/request (${sink > 0 ? 'ok' : ''})`);
