import { createPublicKey } from 'node:crypto';
import { appConfigSchema, startApp } from '@evshare/app';
import { authConfigSchema, startAuth } from '@evshare/auth';
import { billingConfigSchema, startBilling } from '@evshare/billing';
import { chargingConfigSchema, startCharging } from '@evshare/charging';
import { gatewayConfigSchema, startGateway } from '@evshare/gateway';
import { heartbeatConfigSchema, startHeartbeat } from '@evshare/heartbeat';
import { connectBackends, createLogger, createSessionStore, parseConfig, type Backends, type Bus, type Logger, type Pool } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { smsConfigSchema, startSms } from '@evshare/sms';
import { startTelematics, telematicsConfigSchema } from '@evshare/telematics';
import { startWeb, webConfigSchema } from '@evshare/web';
import { createFaultDomains, type Instance } from './containment';
import { startDevPanel } from './dev-panel';
import { freePort, spawnService as spawnProcess, type ServiceProcess } from './processes';
import { seedDemoFleet, seedDevelopmentAccounts } from './seed';
import { startSimulators, type Simulators } from './simulators';

/** The whole platform on one machine: what `make run` starts and the end-to-end tests drive. */
export interface Stack {
  mode: 'in-process' | 'processes';
  gatewayUrl: string;
  /** The gateway's operators' listener on loopback (/lb/status, /metrics); never the public port. */
  gatewayAdminUrl: string;
  /** The MQTT broker the cars connect to (the telematics service's embedded one, or MQTT_URL). */
  mqttUrl?: string;
  /** The demo's simulated cars and piles, when started (StackOptions.simulators). */
  simulators?: Simulators;
  /** The developer panel on loopback (StackOptions.devPanel), when mounted. */
  devPanelUrl?: string;
  /** The platform's bus, as the stack itself sees it (for the local autoscaler). */
  bus: Bus;
  /** Every service's own URL, by name (APP instances by id). */
  urls(): Record<string, string>;
  appIds(): string[];
  /** Starts one more APP instance; resolves with its id. */
  addApp(): Promise<string>;
  /** Stops an APP instance gracefully (the newest when no id is given). */
  removeApp(id?: string): Promise<void>;
  stop(): Promise<void>;
  /** In the processes mode: a service's process, by name or APP instance id (to signal it). */
  process?(name: string): ServiceProcess | undefined;
}

export interface StackOptions {
  /** The environment the services read (backends, tuning); ports are chosen by the stack. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  appInstances: number;
  /**
   * Processes mode: auth and heartbeat instances behind the gateway (default 1 each). Several
   * auth instances spread the argon2 work of a login storm; several heartbeat instances the push
   * sockets (a process may hold 20,000 open files here).
   */
  authInstances?: number;
  heartbeatInstances?: number;
  gatewayPort: number;
  /** The gateway's admin listener (ADMIN_PORT, on 127.0.0.1); 0 or unset: any free port. */
  gatewayAdminPort?: number;
  /** What to seed: nothing, the development accounts, or those plus a demo fleet (make run). */
  seed: 'none' | 'accounts' | 'demo';
  /** Simulated terminals for every car and two charge points per station (make run). */
  simulators?: boolean;
  /**
   * The developer panel on 127.0.0.1 at this port (0: any free one): hold cards to the simulated
   * cars, cut their signal, drive them. Mounted only with the simulators, and refused unless
   * env.NODE_ENV is development or test (dev-panel-rules.ts).
   */
  devPanel?: { port: number };
  /** The simulated cars drive themselves once rented and unlocked (default true with simulators). */
  simulatorAutopilot?: boolean;
  /**
   * false: no telematics service. For tests that answer the cars' side of the unlock contract
   * on the bus themselves (or run their own vehicle link); default true.
   */
  vehicleLink?: boolean;
  /**
   * In-process only: an error that escapes a service restarts that service instead of ending the
   * process (make run). Off in tests, whose runner reports such errors itself.
   */
  containFaults?: boolean;
}

/**
 * Every service in this process, sharing one set of backends. This is the embedded default: an
 * in-process bus cannot cross processes, so the services share the process instead.
 */
export async function startInProcessStack(options: StackOptions): Promise<Stack> {
  const { env, log } = options;
  const backends = await connectBackends({ service: 'stack', log, env });
  const db = backends.db!;
  await migrateDatabase(db, log);
  if (options.seed !== 'none') await seedDevelopmentAccounts(db, log);
  if (options.seed === 'demo') await seedDemoFleet(db, log);
  const local = { ...env, PORT: '0', HOST: '127.0.0.1' };
  const authConfig = parseConfig(authConfigSchema, local);
  const sessionStore = (name: string) =>
    createSessionStore({ store: backends.sessions, bus: backends.bus, log: createLogger(name, log.level), ttlMs: authConfig.SESSION_TTL_MS });

  // With containFaults each service runs in its own fault domain and is restarted in place when
  // an error escapes it; otherwise (tests) a start is a plain call.
  const domains = options.containFaults ? createFaultDomains(log) : undefined;
  const launch = async (name: string, start: (port: number) => Promise<Instance>): Promise<Part> => {
    if (domains) return domains.supervise(name, start);
    const service = await start(0);
    return { url: service.url, stop: () => service.stop() };
  };
  const at = (port: number) => ({ ...local, PORT: String(port) });
  const bus = domains ? domains.bus(backends.bus) : backends.bus;

  const authSessions = sessionStore('auth');
  const auth = await launch('auth', (port) =>
    startAuth({
      config: parseConfig(authConfigSchema, at(port)),
      log: createLogger('auth', log.level),
      db,
      bus,
      sessions: authSessions,
      throttleStore: backends.sessions,
    }),
  );
  const heartbeatSessions = sessionStore('heartbeat');
  const heartbeat = await launch('heartbeat', (port) =>
    startHeartbeat({ config: parseConfig(heartbeatConfigSchema, at(port)), log: createLogger('heartbeat', log.level), bus, sessions: heartbeatSessions }),
  );
  const billing = await launch('billing', (port) =>
    startBilling({ config: parseConfig(billingConfigSchema, at(port)), log: createLogger('billing', log.level), db, bus, cache: backends.cache }),
  );
  const sms = await launch('sms', (port) =>
    startSms({ config: parseConfig(smsConfigSchema, at(port)), log: createLogger('sms', log.level), db, bus, store: backends.sessions }),
  );
  // A restarted telematics service keeps its broker's port: the cars know it.
  let mqttUrl: string | undefined;
  const telematics =
    options.vehicleLink === false
      ? undefined
      : await launch('telematics', async (port) => {
          const running = await startTelematics({
            config: parseConfig(telematicsConfigSchema, { MQTT_PORT: '0', ...at(port), ...(mqttUrl ? { MQTT_PORT: new URL(mqttUrl).port } : {}) }),
            log: createLogger('telematics', log.level),
            db,
            bus,
            cache: backends.cache,
          });
          mqttUrl = running.mqttUrl;
          return running;
        });
  const chargingSessions = sessionStore('charging');
  const charging = await launch('charging', (port) =>
    startCharging({
      config: parseConfig(chargingConfigSchema, at(port)),
      log: createLogger('charging', log.level),
      db,
      bus,
      sessions: chargingSessions,
      cache: backends.cache,
    }),
  );
  const apps = new Map<string, Part>();
  let counter = 0;
  const addApp = async () => {
    counter += 1;
    const id = `app-${counter}`;
    const appSessions = sessionStore(id);
    const app = await launch(id, (port) =>
      startApp({
        config: parseConfig(appConfigSchema, { ...at(port), INSTANCE_ID: id }),
        log: createLogger('app', log.level).child({ instance: id }),
        db,
        bus,
        sessions: appSessions,
        cache: backends.cache,
      }),
    );
    apps.set(id, app);
    return id;
  };
  for (let i = 0; i < options.appInstances; i++) await addApp();
  const web = await launch('web', (port) => startWeb({ config: parseConfig(webConfigSchema, at(port)), log: createLogger('web', log.level) }));
  // The first gateway takes any free admin port; one restarted in place keeps it (the operators' address).
  let gatewayAdminPort = options.gatewayAdminPort ?? 0;
  const gatewayEnv = {
    ...env,
    ADMIN_HOST: '127.0.0.1',
    AUTH_UPSTREAMS: auth.url,
    PUSH_UPSTREAMS: heartbeat.url,
    CHARGING_UPSTREAMS: charging.url,
    WEB_UPSTREAM: web.url,
  };
  const gateway = await launch('gateway', async (port) => {
    const running = await startGateway({
      config: parseConfig(gatewayConfigSchema, { ...gatewayEnv, PORT: String(port || options.gatewayPort), ADMIN_PORT: String(gatewayAdminPort) }),
      log: createLogger('gateway', log.level),
      bus,
    });
    gatewayAdminPort = Number(new URL(running.adminUrl).port);
    return running;
  });
  const uninstall = domains?.install();

  const fixed = { gateway, auth, heartbeat, billing, sms, charging, web, ...(telematics ? { telematics } : {}) };
  const stack = await assemble('in-process', options, db, backends, fixed, `http://127.0.0.1:${gatewayAdminPort}`, mqttUrl, apps, addApp);
  return {
    ...stack,
    async stop() {
      await stack.stop();
      uninstall?.();
    },
  };
}

/**
 * Every service as its own process (needs REDIS_URL, NATS_URL and DATABASE_URL: the processes
 * meet on real servers). This is how the platform runs in production, minus Kubernetes.
 */
export async function startProcessStack(options: StackOptions): Promise<Stack> {
  const { env, log } = options;
  const backends = await connectBackends({ service: 'stack', log, env });
  await migrateDatabase(backends.db!, log);
  if (options.seed !== 'none') await seedDevelopmentAccounts(backends.db!, log);
  if (options.seed === 'demo') await seedDemoFleet(backends.db!, log);

  // Each service logs JSON lines at its own level already: pass them through unchanged.
  const forward = (line: string) => process.stdout.write(`${line}\n`);
  // The stack's own NATS user (NATS_USER/NATS_PASSWORD) stays with the stack; each service gets its
  // own when NATS_PASSWORD_<SERVICE> is set (docs/operations.md, "Credentials per service").
  const { NATS_USER: _user, NATS_PASSWORD: _password, ...shared } = env;
  const base = { ...shared, HOST: '127.0.0.1' };
  const spawnService: typeof spawnProcess = (name, serviceEnv, spawnOptions) => spawnProcess(name, { ...serviceEnv, ...natsUserOf(name, env) }, spawnOptions);
  // The first of each keeps the plain name (`auth`, `heartbeat`); the others are auth-2, heartbeat-2, …
  const replicas = async (name: 'auth' | 'heartbeat', count: number) => {
    const parts: Record<string, ServiceProcess> = {};
    for (let i = 1; i <= Math.max(1, count); i++) {
      const id = i === 1 ? name : `${name}-${i}`;
      parts[id] = await spawnService(name, { ...base, INSTANCE_ID: id }, { onLine: forward });
    }
    return parts;
  };
  const auths = await replicas('auth', options.authInstances ?? 1);
  const heartbeats = await replicas('heartbeat', options.heartbeatInstances ?? 1);
  const upstreams = (parts: Record<string, ServiceProcess>) =>
    Object.values(parts)
      .map((part) => part.url)
      .join(',');
  const billing = await spawnService('billing', base, { onLine: forward });
  const sms = await spawnService('sms', base, { onLine: forward });
  // The embedded broker's port must be known here: the simulated cars connect to it.
  const mqttUrl = options.vehicleLink === false ? undefined : (env.MQTT_URL ?? `mqtt://127.0.0.1:${Number(env.MQTT_PORT) || (await freePort())}`);
  const telematics = mqttUrl ? await spawnService('telematics', { ...base, MQTT_PORT: new URL(mqttUrl).port }, { onLine: forward }) : undefined;
  const charging = await spawnService('charging', base, { onLine: forward });
  const apps = new Map<string, ServiceProcess>();
  let counter = 0;
  const addApp = async () => {
    counter += 1;
    const id = `app-${counter}`;
    apps.set(id, await spawnService('app', { ...base, INSTANCE_ID: id }, { onLine: forward }));
    return id;
  };
  for (let i = 0; i < options.appInstances; i++) await addApp();
  const web = await spawnService('web', base, { onLine: forward });
  const adminPort = options.gatewayAdminPort || (await freePort());
  const gateway = await spawnService(
    'gateway',
    {
      ...base,
      ADMIN_PORT: String(adminPort),
      ADMIN_HOST: '127.0.0.1',
      AUTH_UPSTREAMS: upstreams(auths),
      PUSH_UPSTREAMS: upstreams(heartbeats),
      CHARGING_UPSTREAMS: charging.url,
      WEB_UPSTREAM: web.url,
    },
    { port: options.gatewayPort || undefined, onLine: forward },
  );

  const fixed = {
    ...auths,
    ...heartbeats,
    gateway,
    auth: auths.auth!,
    heartbeat: heartbeats.heartbeat!,
    billing,
    sms,
    charging,
    web,
    ...(telematics ? { telematics } : {}),
  };
  const stack = await assemble('processes', options, backends.db!, backends, fixed, `http://127.0.0.1:${adminPort}`, mqttUrl, apps, addApp);
  return { ...stack, process: (name) => (fixed as Record<string, ServiceProcess>)[name] ?? apps.get(name) };
}

/**
 * NATS_USER and NATS_PASSWORD of a spawned service from NATS_PASSWORD_<NAME>; unset when there is
 * none (a child never inherits the stack's own user).
 */
export function natsUserOf(name: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const password = env[`NATS_PASSWORD_${name.toUpperCase()}`];
  return password ? { NATS_USER: name, NATS_PASSWORD: password } : { NATS_USER: undefined, NATS_PASSWORD: undefined };
}

/** The parts both modes share: services (in-process or processes) that have a URL and stop. */
interface Part {
  url: string;
  stop(): Promise<unknown>;
}

async function assemble(
  mode: Stack['mode'],
  options: StackOptions,
  db: Pool,
  backends: Backends,
  fixed: {
    gateway: Part;
    auth: Part;
    heartbeat: Part;
    billing: Part;
    sms: Part;
    charging: Part;
    web: Part;
    telematics?: Part;
    [replica: string]: Part | undefined;
  },
  gatewayAdminUrl: string,
  mqttUrl: string | undefined,
  apps: Map<string, Part>,
  addApp: () => Promise<string>,
): Promise<Stack> {
  if (options.simulators && !mqttUrl) throw new Error('the simulators need the vehicle link (vehicleLink: false was given)');
  const simulators =
    options.simulators && mqttUrl
      ? await startSimulators({
          db,
          gatewayUrl: fixed.gateway.url,
          mqttUrl,
          log: options.log,
          autopilot: options.simulatorAutopilot ?? true,
          ...(options.env.APP_KEY_PRIVATE_KEY
            ? { platformKey: createPublicKey(options.env.APP_KEY_PRIVATE_KEY).export({ type: 'spki', format: 'pem' }).toString() }
            : {}),
        })
      : undefined;
  const devPanel =
    simulators && options.devPanel
      ? await startDevPanel({ fleet: simulators.vehicles, db, log: options.log, port: options.devPanel.port, nodeEnv: options.env.NODE_ENV })
      : undefined;
  return {
    mode,
    gatewayUrl: fixed.gateway.url,
    gatewayAdminUrl,
    ...(mqttUrl ? { mqttUrl } : {}),
    ...(simulators ? { simulators } : {}),
    ...(devPanel ? { devPanelUrl: devPanel.url } : {}),
    bus: backends.bus,
    urls: () => ({
      ...Object.fromEntries(Object.entries(fixed).map(([name, part]) => [name, (part as Part).url])),
      ...Object.fromEntries([...apps].map(([id, app]) => [id, app.url])),
    }),
    appIds: () => [...apps.keys()],
    addApp,
    async removeApp(id) {
      const target = id ?? [...apps.keys()].at(-1);
      const app = target ? apps.get(target) : undefined;
      if (!app || !target) return;
      apps.delete(target);
      await app.stop();
    },
    async stop() {
      await devPanel?.stop();
      await simulators?.stop();
      await fixed.gateway.stop();
      await Promise.all([...apps.values()].map((app) => app.stop()));
      const { gateway: _, ...rest } = fixed;
      await Promise.all(Object.values(rest).flatMap((part) => (part ? [part.stop()] : [])));
      await backends.close();
    },
  };
}
