// @ts-check
// A bare node:http JSON backend for the gateway benchmark: the cheapest possible APP stand-in,
// so the numbers measure the balancers, not the backend. Usage: node backend.js <port> <id>
'use strict';
const http = require('node:http');

const [port = '0', id = 'backend'] = process.argv.slice(2);
const body = JSON.stringify({ ok: true, instance: id });
const server = http.createServer((req, res) => {
  if (req.url === '/readyz' || req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
    res.end('{"ok":true}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-app-instance': id });
  res.end(body);
});
// Longer than the balancers' idle timeouts, as a real APP's (kit: 65 s), so they close first.
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
