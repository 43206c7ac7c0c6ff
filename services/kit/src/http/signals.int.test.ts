import { spawn } from 'node:child_process';
import path from 'node:path';

// A process whose stop takes 600 ms, run from the built kit as a service's main runs it.
const DIST = path.join(__dirname, '../../dist');
const SCRIPT = `
const { exitOnSignals } = require(${JSON.stringify(path.join(DIST, 'http/server.js'))});
const { createLogger } = require(${JSON.stringify(path.join(DIST, 'logger.js'))});
exitOnSignals(createLogger('signals-test', 'info'), () => new Promise((resolve) => setTimeout(resolve, 600)), 5000);
setInterval(() => {}, 1000);
console.log('ready');
`;

async function run(signals: NodeJS.Signals[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const code = await exited;
  return { code, out };
}

describe('exitOnSignals', () => {
  it('finishes the stop and exits 0 when the other signal follows (a Ctrl-C relayed by a parent as SIGTERM)', async () => {
    const result = await run(['SIGINT', 'SIGTERM']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('"msg":"stopped"');
    expect(result.out).not.toContain('second signal');
  });

  it('exits 1 at once on the same signal twice (an impatient second Ctrl-C)', async () => {
    const result = await run(['SIGINT', 'SIGINT']);
    expect(result.code).toBe(1);
    expect(result.out).toContain('second signal');
    expect(result.out).not.toContain('"msg":"stopped"');
  });
});
