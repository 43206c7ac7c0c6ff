// @ts-check
// Opens N keep-alive client connections to a URL, sends one request on each, then keeps them
// all open and idle (the connections of members' browsers between two polls), until SIGTERM.
// Prints "ready <n> <failed>" when done. Usage: node idle-clients.js <url> <count> [batch]
'use strict';
const net = require('node:net');

const [target = '', countArg = '10000', batchArg = '250'] = process.argv.slice(2);
const url = new URL(target);
const count = Number(countArg);
const batch = Number(batchArg);
const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`;
/** @type {net.Socket[]} */
const sockets = [];
let failed = 0;

/** One connection: connect, send the request, resolve at the first answer bytes. */
function open() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => socket.write(request));
    socket.once('data', () => {
      sockets.push(socket);
      resolve(undefined);
    });
    socket.on('error', () => {
      failed++;
      resolve(undefined);
    });
  });
}

(async () => {
  // In batches: a burst of 10,000 SYNs overflows the listen backlog and turns into 1 s retransmits.
  for (let done = 0; done < count; done += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - done) }, open));
  }
  process.stdout.write(`ready ${sockets.length} ${failed}\n`);
})();
process.on('SIGTERM', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
