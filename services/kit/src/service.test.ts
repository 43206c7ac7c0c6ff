import { spawn } from 'node:child_process';
import path from 'node:path';

const KIT = path.resolve(__dirname, '..', 'dist', 'index.js');

/**
 * A process whose start announces it is up, then takes `startMs` more before it returns (as the
 * stack prints "Press Ctrl-C to stop." inside its start), and fails its start when `failStart`.
 */
function child(options: { startMs: number; failStart?: boolean }) {
  const script = `
    const { createLogger, runProcess } = require(${JSON.stringify(KIT)});
    const log = createLogger('signals', 'info');
    setInterval(() => undefined, 1000); // a service's server keeps its process alive
    void runProcess('signals', log, async () => {
      process.stdout.write('up\\n');
      await new Promise((resolve) => setTimeout(resolve, ${options.startMs}));
      if (${Boolean(options.failStart)}) throw new Error('start failed');
      return { async stop() { process.stdout.write('stop ran\\n'); } };
    });`;
  const process_ = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  process_.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  process_.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const up = new Promise<void>((resolve) => process_.stdout.on('data', () => output.includes('up\n') && resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': the output read to its end.
    process_.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { process: process_, up, exited, output: () => output };
}

describe('runProcess and signals', () => {
  it('a SIGINT while start is still finishing stops what started and exits 0, not by the default action', async () => {
    const { process: running, up, exited, output } = child({ startMs: 400 });
    await up;
    running.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(output()).toContain('stop ran');
  });

  it('a SIGTERM after start stops and exits 0', async () => {
    const { process: running, up, exited, output } = child({ startMs: 0 });
    await up;
    await new Promise((resolve) => setTimeout(resolve, 100));
    running.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(output()).toContain('stop ran');
  });

  it('a signal during a start that then fails exits 1 with the start failure logged', async () => {
    const { process: running, up, exited, output } = child({ startMs: 300, failStart: true });
    await up;
    running.kill('SIGINT');
    expect(await exited).toEqual({ code: 1, signal: null });
    expect(output()).toContain('signals failed to start');
    expect(output()).not.toContain('stop ran');
  });
});
