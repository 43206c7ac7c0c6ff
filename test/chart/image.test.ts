/**
 * The container image, without a Docker engine: the Dockerfile must list every npm workspace (so
 * `npm ci` sees the whole monorepo), copy every workspace's build into the runtime stage, run as
 * uid 10001, and its entrypoint script must start the process it is named after. Every process
 * the chart runs must exist in the repository.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PRODUCTION_VALUES, REPO, render } from './helm';

const run = promisify(execFile);
const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));

/** Workspace directories, from the root package.json's globs (`dir/*` or a plain `dir`). */
function workspaces(): string[] {
  const globs: string[] = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).workspaces;
  return globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [glob];
    const parent = glob.slice(0, -2);
    if (!existsSync(path.join(REPO, parent))) return [];
    return readdirSync(path.join(REPO, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(REPO, parent, d.name, 'package.json')))
      .map((d) => `${parent}/${d.name}`);
  });
}

describe('Dockerfile', () => {
  it('copies the manifest of every workspace, and of no directory that is not one', () => {
    const listed = instructions.map((line) => /^COPY (\S+)\/package\.json \1\/$/.exec(line)?.[1]).filter((dir): dir is string => dir !== undefined);
    expect(listed.sort()).toEqual(workspaces().sort());
  });

  it('builds every workspace root and copies its output into the runtime stage', () => {
    const roots = [...new Set(workspaces().map((dir) => dir.split('/')[0]!))];
    for (const root of roots) {
      expect(instructions).toContain(`COPY ${root}/ ${root}/`);
      expect(instructions).toContain(`COPY --from=build /src/${root}/ ${root}/`);
    }
  });

  it('compiles with npm ci + tsc -b, installs production dependencies only in a Node 24 LTS (bookworm) runtime, runs as 10001', () => {
    expect(instructions).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
    expect(dockerfile).toMatch(/^RUN npm ci --ignore-scripts/m);
    expect(dockerfile).toMatch(/^RUN npx tsc -b/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(instructions.filter((line) => line.startsWith('FROM '))).toEqual([
      'FROM ${NODE_IMAGE} AS manifests',
      'FROM manifests AS build',
      'FROM ${NODE_IMAGE} AS runtime',
    ]);
    const runtime = instructions.slice(instructions.indexOf('FROM ${NODE_IMAGE} AS runtime'));
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime.at(-2)).toBe('ENTRYPOINT ["/usr/local/bin/evshare"]');
    expect(runtime.at(-1)).toBe('CMD ["gateway"]');
  });

  it('keeps local installs, builds and the VCS out of the build context', () => {
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignored).toContain(entry);
  });
});

describe('the image entrypoint script', () => {
  let app: string;
  const script = () => {
    const match = /^COPY --chmod=0755 <<'EOF' \/usr\/local\/bin\/evshare\n([\s\S]*?)\nEOF$/m.exec(dockerfile);
    if (!match) throw new Error('no entrypoint heredoc in the Dockerfile');
    return `${match[1]}\n`;
  };

  beforeAll(async () => {
    // A stand-in for /app: each main.js prints which process ran, with its arguments.
    app = await mkdtemp(path.join(os.tmpdir(), 'evshare-image-'));
    for (const dir of ['services/auth', 'services/gateway', 'operator']) {
      await mkdir(path.join(app, dir, 'dist'), { recursive: true });
      await writeFile(path.join(app, dir, 'dist', 'main.js'), `console.log(JSON.stringify(['${dir}', ...process.argv.slice(2)]));\n`);
    }
    await mkdir(path.join(app, 'services/kit/dist'), { recursive: true });
    await writeFile(path.join(app, 'evshare'), script());
    await chmod(path.join(app, 'evshare'), 0o755);
  });

  afterAll(async () => {
    await rm(app, { recursive: true, force: true });
  });

  const evshare = (...args: string[]) => run(path.join(app, 'evshare'), args, { cwd: app });

  it('starts the named service with the remaining arguments', async () => {
    expect(JSON.parse((await evshare('auth', '--inspect=0')).stdout)).toEqual(['services/auth', '--inspect=0']);
    expect(JSON.parse((await evshare('gateway')).stdout)).toEqual(['services/gateway']);
    expect(JSON.parse((await evshare('operator')).stdout)).toEqual(['operator']);
  });

  it.each([[[]], [['nonexistent']], [['kit']], [['../operator']]])('refuses %j with usage and exit code 64', async (args) => {
    const failure = await evshare(...args).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(64);
    expect(failure?.stderr).toMatch(/^usage: evshare <process>; one of: operator auth gateway $/m);
  });
});

const sourceDir = (process: string) =>
  process === 'operator' ? 'operator/src' : existsSync(path.join(REPO, 'services', process)) ? `services/${process}/src` : `sims/${process}/src`;

/** The text of every non-test TypeScript file under `dir`. */
function tsSources(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => readFileSync(path.join(dir, file), 'utf8'))
    .join('\n');
}

describe('the chart and the repository', () => {
  it('runs only processes that exist: every service, the gateway and the operator have a main', async () => {
    const objects = await render({
      entrypoint: 'gateway',
      services: { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } },
    });
    const processes = objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => o.spec.template.spec.containers[0])
      .filter((c) => String(c.image).includes('/evshare:'))
      .map((c) => c.args[0] as string);
    expect(processes.sort()).toEqual([
      'app',
      'auth',
      'billing',
      'charging',
      'gateway',
      'heartbeat',
      'member',
      'operator',
      'pile',
      'sms',
      'telematics',
      'vehicle',
      'web',
    ]);
    const missing = processes.filter((name) => !existsSync(path.join(REPO, sourceDir(name), 'main.ts')));
    expect(missing).toEqual([]);
  });

  it('sets only environment variables the processes read (a misspelt name would be ignored silently)', async () => {
    const simulators = { services: { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } } };
    const objects = [...(await render({ entrypoint: 'gateway', ...simulators })), ...(await render({ ...PRODUCTION_VALUES, ...simulators }))];
    const unread = new Set<string>();
    // The evshare processes (HAProxy is configured by its file, not its environment).
    for (const deployment of objects.filter((o) => o.kind === 'Deployment' && o.metadata.name !== 'evs-evshare-haproxy')) {
      const container = deployment.spec.template.spec.containers[0];
      const env: Array<{ name: string; value?: string }> = container.env;
      const sources = [sourceDir(container.args[0]), 'services/kit/src'].map((dir) => tsSources(path.join(REPO, dir))).join('\n');
      for (const { name } of env) {
        // The pod's identity is given to every process (for `env` values such as PUBLIC_URL, and
        // for logs); PGPASSWORD is read by the pg library itself.
        if (['POD_IP', 'POD_NAME', 'POD_NAMESPACE', 'PGPASSWORD'].includes(name)) continue;
        if (!new RegExp(`\\b${name}\\b`).test(sources)) unread.add(`${container.args[0]}: ${name}`);
      }
    }
    expect([...unread]).toEqual([]);
  });
});
