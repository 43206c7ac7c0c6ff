import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createLogger, createPool, serveStatus } from '@evshare/kit';
import { startMemberFleet, type MemberAccount, type MemberFleet } from './fleet';
import { provisionMembers, registerMembers, simulatedAccounts } from './provision';

/**
 * node sims/member/dist/main.js --url http://127.0.0.1:8080 --accounts members.json [--count N]
 * DATABASE_URL=... node sims/member/dist/main.js --provision 200        (development clusters)
 * ADMIN_PASSWORD=... node sims/member/dist/main.js --register 200       (through the admin API)
 *
 * members.json: [{"account": "...", "password": "..."}]. --provision and --register create
 * members <prefix>0001.. with --password (a fresh random one by default). Each member logs in and
 * polls /api/v1/sync every --interval ms (default: what the server suggests) with --burst
 * requests per poll, starting over --ramp seconds; --host-header sets the Host an ingress rule
 * matches; against a loopback URL each member binds 127.<--address-block>.x.y (0: off). Runs
 * until --duration seconds pass or SIGINT/SIGTERM, printing a status line every --report seconds
 * and a summary at the end. With --status-port (or PORT) it serves /healthz, /readyz, /metrics
 * and /status (as a pod does).
 */
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.MEMBER_SIM_URL ?? 'http://127.0.0.1:8080' },
    accounts: { type: 'string' },
    provision: { type: 'string' },
    register: { type: 'string' },
    prefix: { type: 'string', default: '1990000' },
    password: { type: 'string', default: process.env.MEMBER_SIM_PASSWORD },
    'admin-account': { type: 'string', default: process.env.ADMIN_ACCOUNT ?? 'admin' },
    'admin-password': { type: 'string', default: process.env.ADMIN_PASSWORD },
    count: { type: 'string' },
    interval: { type: 'string' },
    burst: { type: 'string', default: '1' },
    browse: { type: 'string', default: '0' },
    ramp: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    duration: { type: 'string', default: '0' },
    report: { type: 'string', default: '10' },
    'host-header': { type: 'string', default: process.env.MEMBER_SIM_HOST_HEADER },
    'address-block': { type: 'string', default: '2' },
    'status-port': { type: 'string', default: process.env.PORT },
  },
});

const accountsSchema = z.array(z.object({ account: z.string().min(1), password: z.string().min(1) })).min(1);
const positive = (name: string, value: string | undefined) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
};

async function accounts(): Promise<MemberAccount[]> {
  const password = values.password ?? randomBytes(12).toString('base64url');
  if (values.provision) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('--provision needs DATABASE_URL');
    const list = simulatedAccounts(positive('provision', values.provision), password, values.prefix);
    const db = createPool(url, { max: 1 });
    try {
      await provisionMembers(db, list);
    } finally {
      await db.end();
    }
    process.stdout.write(`provisioned ${list.length} member(s)\n`);
    return list;
  }
  if (values.register) {
    if (!values['admin-password']) throw new Error('--register needs --admin-password or ADMIN_PASSWORD');
    const list = simulatedAccounts(positive('register', values.register), password, values.prefix);
    await registerMembers({ url: values.url, admin: { account: values['admin-account'], password: values['admin-password'] }, accounts: list });
    process.stdout.write(`registered ${list.length} member(s)\n`);
    return list;
  }
  if (values.accounts) return accountsSchema.parse(JSON.parse(readFileSync(values.accounts, 'utf8')));
  process.stderr.write('sim-member: give --accounts <file.json>, --provision N (with DATABASE_URL) or --register N (with ADMIN_PASSWORD)\n');
  process.exit(2);
}

async function main() {
  const started = Date.now();
  let fleet: MemberFleet | undefined = undefined;
  // Up first, so a pod still creating its members is live and ready.
  const status = values['status-port']
    ? await serveStatus('sim-member', {
        log: createLogger('sim-member', 'warn'),
        port: Number(values['status-port']),
        host: process.env.HOST ?? '127.0.0.1',
        status: () => fleet?.stats() ?? { state: 'provisioning' },
      })
    : undefined;
  const list = await accounts();
  fleet = startMemberFleet({
    url: values.url,
    accounts: list,
    ...(values.count ? { count: positive('count', values.count) } : {}),
    ...(values.interval ? { pollIntervalMs: positive('interval', values.interval) } : {}),
    burst: positive('burst', values.burst),
    browseEvery: positive('browse', values.browse),
    concurrencyRampMs: positive('ramp', values.ramp) * 1000,
    seed: Number(values.seed),
    ...(values['host-header'] ? { hostHeader: values['host-header'] } : {}),
    addressBlock: positive('address-block', values['address-block']),
    statsIntervalMs: positive('report', values.report) * 1000,
    onStats: (stats) => process.stdout.write(`status ${JSON.stringify(stats)}\n`),
  });
  const running = fleet;
  process.stdout.write(`running ${running.stats().members} member(s) against ${values.url}\n`);
  let finishing = false;
  const finish = async () => {
    if (finishing) return;
    finishing = true;
    await running.stop();
    await status?.stop();
    process.stdout.write(`summary after ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(running.stats())}\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void finish());
  process.on('SIGTERM', () => void finish());
  if (Number(values.duration) > 0) setTimeout(() => void finish(), Number(values.duration) * 1000);
}

void main().catch((error: unknown) => {
  process.stderr.write(`sim-member: ${(error as Error).message}\n`);
  process.exit(1);
});
