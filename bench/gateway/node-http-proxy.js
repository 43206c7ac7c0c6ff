// @ts-check
// Reference for the benchmark: the proxy transport the gateway was first written with (node:http
// server, http.request through a keep-alive http.Agent per upstream, streams piped), with the
// same forwarding headers, round-robin over the backends. It shows in the same run what the raw
// HTTP/1.1 engine of services/gateway gained. Usage: node node-http-proxy.js <port> <url,url>
'use strict';
const http = require('node:http');
const { randomUUID } = require('node:crypto');

const [port = '0', list = ''] = process.argv.slice(2);
const upstreams = list.split(',').map((u) => {
  const url = new URL(u);
  return { host: url.hostname, port: Number(url.port), agent: new http.Agent({ keepAlive: true, maxFreeSockets: 1024 }) };
});
let next = 0;
const server = http.createServer((req, res) => {
  const up = upstreams[next++ % upstreams.length];
  if (!up) throw new Error('no upstream');
  const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress, 'x-forwarded-proto': 'http', 'x-request-id': randomUUID() };
  const proxied = http.request({ agent: up.agent, host: up.host, port: up.port, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  proxied.on('error', () => {
    res.statusCode = 502;
    res.end();
  });
  req.pipe(proxied);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
