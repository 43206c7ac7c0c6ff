import { spawn } from 'node:child_process';
import { startTestGateway } from './testing.fixture';

const CLIENTS = 1000;

/**
 * The crowd, in a process of its own (this one is about to stop running JavaScript): once told
 * the port, it waits a moment, opens CLIENTS connections at once, counts those whose handshake
 * completed 2 s later, then sends each a request and reports how they were answered.
 */
const crowd = `
const net = require('node:net');
const port = Number(process.argv[1]);
console.log('ready');
setTimeout(() => {
  const sockets = [];
  let answered = 0, reset = 0, other = 0, done = 0;
  const finished = () => { if (++done === sockets.length) { console.log(JSON.stringify({ connected, answered, reset, other })); process.exit(0); } };
  let connected = 0;
  for (let i = 0; i < ${CLIENTS}; i++) {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '', settled = false;
    const settle = (outcome) => { if (settled) return; settled = true; if (outcome === 'answered') answered++; else if (outcome === 'reset') reset++; else other++; finished(); };
    socket.on('data', (chunk) => { reply += chunk; if (/^HTTP\\/1\\.1 \\d{3}/.test(reply)) settle('answered'); });
    socket.on('error', (error) => settle(error.code === 'ECONNRESET' ? 'reset' : 'other'));
    socket.on('close', () => settle('other'));
    sockets.push(socket);
  }
  setTimeout(() => {
    connected = sockets.filter((s) => !s.connecting).length;
    for (const socket of sockets) socket.write('GET /healthz HTTP/1.1\\r\\nHost: gateway\\r\\nConnection: close\\r\\n\\r\\n');
  }, 2000);
}, 300);
`;

describe('the listening socket', () => {
  it('queues a thousand handshakes while the gateway is busy and answers them all once it is back, none reset', async () => {
    const gw = await startTestGateway();
    try {
      const port = new URL(gw.url).port;
      const child = spawn(process.execPath, ['-e', crowd, port], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      const report = new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.startsWith('ready') && !output.includes('{')) {
            // Busy for 3 s (a long GC pause, a starved CPU): the kernel alone completes handshakes,
            // as many as the backlog holds; those beyond it are dropped and retried at 1 s, 3 s...
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
          }
        });
        child.on('error', reject);
        child.on('exit', () => resolve(output));
      });
      const result = JSON.parse((await report).split('\n').find((line) => line.startsWith('{'))!) as {
        connected: number;
        answered: number;
        reset: number;
        other: number;
      };
      expect(result).toEqual({ connected: CLIENTS, answered: CLIENTS, reset: 0, other: 0 });
    } finally {
      await gw.stop();
    }
  }, 30_000);
});
