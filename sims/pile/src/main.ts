import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { provisionPiles } from '@evshare/charging';
import { createLogger, createPool, serveStatus } from '@evshare/kit';
import { startPileFleet, type FleetCredentials, type PileFleet } from './fleet';

/**
 * node sims/pile/dist/main.js --url ws://127.0.0.1:8080/ocpp --credentials piles.json [--count N]
 * node sims/pile/dist/main.js --prefix SIM- --password secret --count N
 * DATABASE_URL=... node sims/pile/dist/main.js --provision --count N [--retry S]   (development clusters;
 *   waits, looking every S seconds, until a station is published)
 *
 * piles.json: [{"id": "...", "password": "...", "vin": "...", "idTag": "..."}] as returned by
 * provisionPiles (@evshare/charging). Runs until --duration seconds pass or SIGINT, printing a
 * status line every --report seconds and a summary at the end; exits 1 if a pile failed to start.
 * With --status-port (or PORT) it serves /healthz, /readyz, /metrics and /status (as a pod does).
 */
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.OCPP_URL ?? 'ws://127.0.0.1:8080/ocpp' },
    credentials: { type: 'string' },
    prefix: { type: 'string' },
    password: { type: 'string', default: process.env.PILE_PASSWORD },
    count: { type: 'string' },
    seed: { type: 'string', default: '1' },
    heartbeat: { type: 'string', description: 'heartbeat seconds (default: what the central system says)' },
    meter: { type: 'string', default: '60' },
    speed: { type: 'string', default: '1' },
    duration: { type: 'string', default: '0' },
    report: { type: 'string', default: '10' },
    'no-start': { type: 'boolean', default: false },
    provision: { type: 'boolean', default: false },
    retry: { type: 'string', default: '15' },
    'status-port': { type: 'string', default: process.env.PORT },
  },
});

const credentialsSchema = z.array(z.object({ id: z.string().min(1), password: z.string().min(1), vin: z.string().optional(), idTag: z.string().optional() }));

/**
 * Registers --count piles spread over the stations of the database at DATABASE_URL (new secrets
 * each time), each paired with a car parked there: a development cluster's simulator pod needs
 * no credentials file.
 */
async function provision(count: number, retry: number): Promise<FleetCredentials[]> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('--provision needs DATABASE_URL');
  const db = createPool(url, { max: 1 });
  try {
    // A new installation has no station until an operator publishes one: wait for it.
    let rows: Array<{ id: string }> = [];
    for (;;) {
      rows = (await db.query<{ id: string }>('SELECT id FROM stations ORDER BY created_at, id')).rows;
      if (rows.length > 0) break;
      process.stdout.write(`no station published yet; looking again in ${retry} s\n`);
      await new Promise((resolve) => setTimeout(resolve, retry * 1000));
    }
    const credentials: FleetCredentials[] = [];
    for (const [i, station] of rows.entries()) {
      const here = Math.floor(count / rows.length) + (i < count % rows.length ? 1 : 0);
      if (here > 0) credentials.push(...(await provisionPiles(db, station.id, here, { prefix: `SIM${i + 1}-` })));
    }
    process.stdout.write(`provisioned ${credentials.length} pile(s) over ${rows.length} station(s)\n`);
    return credentials;
  } finally {
    await db.end();
  }
}

async function credentials(): Promise<FleetCredentials[]> {
  if (values.provision) return provision(Number(values.count ?? 10), Number(values.retry));
  if (values.credentials) return credentialsSchema.parse(JSON.parse(readFileSync(values.credentials, 'utf8')));
  if (values.prefix && values.password && values.count) {
    return Array.from({ length: Number(values.count) }, (_, i) => ({ id: `${values.prefix}${String(i + 1).padStart(2, '0')}`, password: values.password! }));
  }
  process.stderr.write('sim-pile: give --credentials <file.json>, --prefix with --password and --count, or --provision\n');
  process.exit(2);
}

async function main() {
  const started = Date.now();
  let fleet: PileFleet | undefined = undefined;
  // Up first, so a pod waiting for its first station is live and ready.
  const status = values['status-port']
    ? await serveStatus('sim-pile', {
        log: createLogger('sim-pile', 'warn'),
        port: Number(values['status-port']),
        host: process.env.HOST ?? '127.0.0.1',
        status: () => fleet?.stats() ?? { state: 'provisioning' },
      })
    : undefined;
  fleet = await startPileFleet({
    url: values.url,
    credentials: await credentials(),
    ...(values.count ? { count: Number(values.count) } : {}),
    seed: Number(values.seed),
    ...(values.heartbeat ? { heartbeatIntervalMs: Number(values.heartbeat) * 1000 } : {}),
    meterIntervalMs: Number(values.meter) * 1000,
    speed: Number(values.speed),
    autoStart: !values['no-start'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const running = fleet;
  const print = (label: string) => process.stdout.write(`${label} ${JSON.stringify(running.stats())}\n`);
  print('running');
  const reporter = setInterval(() => print('status'), Number(values.report) * 1000);
  const finish = async () => {
    clearInterval(reporter);
    await status?.stop();
    const failed = running.stats().failed;
    await running.stop();
    print(`summary after ${Math.round((Date.now() - started) / 1000)} s:`);
    process.exit(failed > 0 ? 1 : 0);
  };
  process.on('SIGINT', () => void finish());
  process.on('SIGTERM', () => void finish());
  if (Number(values.duration) > 0) setTimeout(() => void finish(), Number(values.duration) * 1000);
}

void main().catch((error: unknown) => {
  process.stderr.write(`sim-pile: ${(error as Error).message}\n`);
  process.exit(1);
});
