import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from '@evshare/stack';
import { createTestDatabase, testEnvironment } from '../support/backends';

const STACK_MAIN = path.resolve(__dirname, '..', '..', 'services', 'stack', 'dist', 'main.js');

/**
 * `make run` against real servers runs every service as its own process. Ctrl-C in the terminal
 * signals the whole process group at once; the stack (in a process group of its own, see
 * services/stack/src/group.ts) must still stop its services in order, promptly, and exit 0; so
 * must it when only its own process is signalled (kill -INT <pid>): the children hear it from it.
 * The embedded mode's counterpart is the last test of embedded.test.ts.
 */
describe('Ctrl-C in the processes mode', () => {
  it.each([
    ['the process group (Ctrl-C in a terminal)', true],
    ['the stack process alone (kill -INT <pid>)', false],
  ])(
    'SIGINT to %s stops every service within 10 s, exits 0 and logs no error',
    async (_name, group) => {
      const database = await createTestDatabase();
      const output: string[] = [];
      try {
        const env = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...testEnvironment(database.url),
          STACK_MODE: 'processes',
          APP_INSTANCES: '1',
          AUTOSCALE: 'false',
          GATEWAY_PORT: String(await freePort()),
          GATEWAY_ADMIN_PORT: String(await freePort()),
          MQTT_PORT: String(await freePort()),
          DEV_PANEL_PORT: String(await freePort()),
        };
        const child = spawn(process.execPath, [STACK_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`not up:\n${output.join('\n')}`)), 90_000);
          for (const stream of [child.stdout, child.stderr]) {
            readline.createInterface({ input: stream }).on('line', (line) => {
              output.push(line);
              if (line.includes('Press Ctrl-C to stop.')) {
                clearTimeout(timer);
                resolve();
              }
            });
          }
          void exited.then((code) => reject(new Error(`stack exited with ${code}:\n${output.join('\n')}`)));
        });
        const from = output.length;
        const started = Date.now();
        process.kill(group ? -child.pid! : child.pid!, 'SIGINT');
        const code = await exited;
        const tookMs = Date.now() - started;
        const errors = output.slice(from).filter((line) => /"level":(50|60)|shutdown took too long|ECONNREFUSED/.test(line));
        expect({ code, errors, tail: code === 0 ? [] : output.slice(-15) }).toEqual({ code: 0, errors: [], tail: [] });
        expect(tookMs).toBeLessThan(10_000);
      } finally {
        await database.drop();
      }
    },
    120_000,
  );
});
