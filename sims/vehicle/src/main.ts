import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, createPool, serveStatus } from '@evshare/kit';
import { DEFAULT_TOPIC_ROOT, provisionVehicleCredentials, type VehicleCredential } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from './fleet';
import { platformPublicKey } from './platform-key';

const USAGE = `usage: node sims/vehicle/dist/main.js [--count N] [--seed S] [--broker mqtt://host:port | mqtts://host:port] [--ca ca.pem]
  [--credentials file.json | --provision] [--topic-root evshare/v1] [--duration seconds]
  [--trip-chance 0.002] [--offline-chance 0.001] [--telemetry-parked-ms 10000] [--telemetry-driving-ms 2000]
  [--status-port P] [--platform-key key.pem]

  --ca           CA certificates (PEM) to trust for an mqtts:// broker (default: MQTT_TLS_CA; else the system's)
  --status-port  serve /healthz, /readyz, /metrics and /status (the summary) on P (default: PORT; as a pod)
  --platform-key the platform's app-key public key (PEM: a public key or a certificate carrying it;
                 default: the PEM in APP_KEY_PUBLIC_KEY): the terminals verify app keys with it;
                 without it they refuse every app key

  --credentials  a JSON array of {vin, secret} (from provisionVehicleCredentials)
  --provision    issue credentials for the first N cars of the database at DATABASE_URL
                 (replaces their secrets; waits, looking every --retry seconds, until one is published);
                 without either, N anonymous cars (a broker that allows them)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      broker: { type: 'string', default: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884' },
      ca: { type: 'string', default: process.env.MQTT_TLS_CA },
      credentials: { type: 'string' },
      provision: { type: 'boolean', default: false },
      retry: { type: 'string', default: '15' },
      'topic-root': { type: 'string', default: process.env.TELEMATICS_TOPIC_ROOT ?? DEFAULT_TOPIC_ROOT },
      duration: { type: 'string', default: '0' },
      'trip-chance': { type: 'string', default: '0.002' },
      'offline-chance': { type: 'string', default: '0.001' },
      'telemetry-parked-ms': { type: 'string', default: '10000' },
      'telemetry-driving-ms': { type: 'string', default: '2000' },
      'status-port': { type: 'string', default: process.env.PORT },
      'platform-key': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const number = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${String(values[name])}\n${USAGE}`);
    return n;
  };
  const count = number('count');
  let running: Fleet | undefined = undefined;
  // Up first, so a pod waiting for its first car is live and ready.
  const status = values['status-port']
    ? await serveStatus('sim-vehicle', {
        log: createLogger('sim-vehicle', 'warn'),
        port: number('status-port'),
        host: process.env.HOST ?? '127.0.0.1',
        status: () => running?.summary() ?? { state: 'provisioning' },
      })
    : undefined;
  let credentials: VehicleCredential[] | undefined;
  if (values.credentials) credentials = JSON.parse(readFileSync(values.credentials, 'utf8')) as VehicleCredential[];
  else if (values.provision) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('--provision needs DATABASE_URL');
    const db = createPool(url, { max: 1 });
    // A new installation has no car until an operator publishes one: wait for it.
    const retry = number('retry');
    let rows: Array<{ vin: string }> = [];
    for (;;) {
      rows = (await db.query<{ vin: string }>('SELECT vin FROM vehicles ORDER BY vin LIMIT $1', [count])).rows;
      if (rows.length > 0) break;
      console.log(`no car published yet; looking again in ${retry} s`);
      await new Promise((resolve) => setTimeout(resolve, retry * 1000));
    }
    credentials = await provisionVehicleCredentials(
      db,
      rows.map((r) => r.vin),
    );
    await db.end();
    console.log(`provisioned credentials for ${credentials.length} car(s)`);
  }
  const platformPem = values['platform-key'] ? readFileSync(values['platform-key'], 'utf8') : process.env.APP_KEY_PUBLIC_KEY || undefined;
  const platformKey = platformPem === undefined ? undefined : platformPublicKey(platformPem);
  const fleet = await startVehicleFleet({
    brokerUrl: values.broker,
    ...(values.ca ? { ca: readFileSync(values.ca) } : {}),
    seed: values.seed,
    count,
    ...(credentials ? { credentials } : {}),
    ...(platformKey ? { platformKey } : {}),
    topicRoot: values['topic-root'],
    telemetryParkedMs: number('telemetry-parked-ms'),
    telemetryDrivingMs: number('telemetry-driving-ms'),
    autopilot: { tripChance: number('trip-chance'), offlineChance: number('offline-chance') },
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(`${fleet.cars.length} car(s) connected to ${values.broker} (seed ${values.seed})`);
  running = fleet;
  const progress = setInterval(() => console.log(`progress ${JSON.stringify(fleet.summary())}`), 10_000);
  const finish = async () => {
    clearInterval(progress);
    await status?.stop();
    await fleet.stop();
    console.log(`summary ${JSON.stringify(fleet.summary(), null, 2)}`);
    process.exit(0);
  };
  process.once('SIGINT', () => void finish());
  process.once('SIGTERM', () => void finish());
  const duration = number('duration');
  if (duration > 0) setTimeout(() => void finish(), duration * 1000);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
