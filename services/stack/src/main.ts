import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { createLogger, env, loadConfig, runProcess, type Logger, type StartedProcess } from '@evshare/kit';
import { DEFAULT_BEHAVIOR } from '@evshare/operator';
import { relaunchInOwnProcessGroup } from './group';
import { DEV_ACCOUNTS, DEV_PANEL_SETTINGS, devPanelMounted, startInProcessStack, startLocalAutoscaler, startProcessStack } from './index';

const stackConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  GATEWAY_PORT: env.port(8080),
  /** The gateway's operators' listener (/lb/status, /metrics), on 127.0.0.1 only. */
  GATEWAY_ADMIN_PORT: env.port(8088),
  APP_INSTANCES: env.positiveInt(2),
  /** Processes mode: auth instances behind the gateway (a login storm's argon2 work spreads over them). */
  AUTH_INSTANCES: env.positiveInt(2),
  /** Processes mode: heartbeat instances (push sockets) behind the gateway. */
  HEARTBEAT_INSTANCES: env.positiveInt(1),
  REDIS_URL: env.optionalUrl(),
  NATS_URL: env.optionalUrl(),
  DATABASE_URL: env.optionalUrl(),
  /** `processes` runs each service as its own process (needs the three URLs); `auto` decides. */
  STACK_MODE: z.enum(['auto', 'in-process', 'processes']).default('auto'),
  /** The local actuator: the operator's scaling decision starting and stopping APP instances. */
  AUTOSCALE: env.bool(true),
  AUTOSCALE_MAX: env.positiveInt(6),
  AUTOSCALE_TARGET_INFLIGHT: env.positiveInt(16),
  AUTOSCALE_DOWN_WINDOW_S: z.coerce.number().int().min(0).default(60),
  /** Simulated terminals for the demo cars and charge points for the demo stations. */
  SIMULATORS: env.bool(true),
  /**
   * The telematics service (cars over MQTT). Off for a benchmark whose driver answers the cars'
   * commands on the bus itself: the link would answer "offline" for cars that never connect.
   */
  VEHICLE_LINK: env.bool(true),
  /** Rented simulated cars drive themselves once unlocked (off for a benchmark that moves them itself). */
  SIMULATOR_AUTOPILOT: env.bool(true),
  /** The embedded MQTT broker's port (the vehicle simulator's default), unless MQTT_URL is set. */
  MQTT_PORT: env.port(1884),
  /** The developer panel (cards, signal, driving the simulated cars): `auto` in development with the simulators; `on` outside development stops the start. */
  DEV_PANEL: z.enum(DEV_PANEL_SETTINGS).default('auto'),
  /** The developer panel's port on 127.0.0.1 (0: any free port). */
  DEV_PANEL_PORT: env.port(8089),
});

/** `make run` is the development platform unless NODE_ENV says otherwise (see start). */
const nodeEnvOf = (environment: NodeJS.ProcessEnv) => environment.NODE_ENV ?? 'development';

/** `make run`: the whole platform on this machine, embedded backends unless the URLs are set. */
async function start(config: z.infer<typeof stackConfigSchema>, log: Logger): Promise<StartedProcess> {
  const realBackends = Boolean(config.REDIS_URL && config.NATS_URL && config.DATABASE_URL);
  const mode = config.STACK_MODE === 'auto' ? (realBackends ? 'processes' : 'in-process') : config.STACK_MODE;
  if (mode === 'processes' && !realBackends) throw new Error('STACK_MODE=processes needs REDIS_URL, NATS_URL and DATABASE_URL');
  // Decided before anything starts: DEV_PANEL=on where it is refused stops the start at once.
  const devPanel = devPanelMounted({ setting: config.DEV_PANEL, nodeEnv: nodeEnvOf(process.env), simulators: config.SIMULATORS && config.VEHICLE_LINK });
  const options = {
    // `make run` is the development platform (it seeds development accounts): development
    // shortcuts are on unless NODE_ENV says otherwise (the image's production refuses them).
    // The platform's app-key signing key: one for this run unless given (its public half goes into
    // the simulated cars), so members' offline keys work in `make run`.
    env: {
      NODE_ENV: 'development',
      ...process.env,
      MQTT_PORT: String(config.MQTT_PORT),
      APP_KEY_PRIVATE_KEY: process.env.APP_KEY_PRIVATE_KEY ?? generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    log,
    appInstances: config.APP_INSTANCES,
    authInstances: config.AUTH_INSTANCES,
    heartbeatInstances: config.HEARTBEAT_INSTANCES,
    gatewayPort: config.GATEWAY_PORT,
    gatewayAdminPort: config.GATEWAY_ADMIN_PORT,
    seed: 'demo' as const,
    simulators: config.SIMULATORS && config.VEHICLE_LINK,
    vehicleLink: config.VEHICLE_LINK,
    simulatorAutopilot: config.SIMULATOR_AUTOPILOT,
    ...(devPanel ? { devPanel: { port: config.DEV_PANEL_PORT } } : {}),
    containFaults: true,
  };
  const stack = mode === 'processes' ? await startProcessStack(options) : await startInProcessStack(options);
  const autoscaler = config.AUTOSCALE
    ? startLocalAutoscaler({
        bus: stack.bus,
        stack,
        log,
        minReplicas: config.APP_INSTANCES,
        maxReplicas: Math.max(config.APP_INSTANCES, config.AUTOSCALE_MAX),
        target: { inflightPerPod: config.AUTOSCALE_TARGET_INFLIGHT },
        behavior: { ...DEFAULT_BEHAVIOR, scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, stabilizationWindowSeconds: config.AUTOSCALE_DOWN_WINDOW_S } },
      })
    : undefined;
  const lines = [
    '',
    `evshare is up (${stack.mode}; backends: ${realBackends ? 'real servers' : 'embedded where no URL is set'})`,
    `  web and API (gateway):  ${stack.gatewayUrl}/`,
    `  balancer status:        ${stack.gatewayAdminUrl}/lb/status (loopback only; operators' console: Cluster)`,
    `  push channel:           ${stack.gatewayUrl.replace('http', 'ws')}/push`,
    `  OCPP 1.6J (piles):      ${stack.gatewayUrl.replace('http', 'ws')}/ocpp/<chargePointId>`,
    `  MQTT (cars):            ${stack.mqttUrl ?? 'none'}`,
    `  simulators:             ${stack.simulators ? stack.simulators.describe() : 'off'}`,
    `  developer panel:        ${stack.devPanelUrl ? `${stack.devPanelUrl}/ (loopback only; cards, signal, driving the cars)` : 'off'}`,
    ...Object.entries(stack.urls())
      .filter(([name]) => name !== 'gateway')
      .map(([name, url]) => `  ${`${name}:`.padEnd(24)}${url}`),
    `  operator account:       ${DEV_ACCOUNTS.admin.account} / ${DEV_ACCOUNTS.admin.password}`,
    `  demo member:            ${DEV_ACCOUNTS.member.account} / ${DEV_ACCOUNTS.member.password}`,
    autoscaler
      ? `  autoscaling:            ${config.APP_INSTANCES}..${Math.max(config.APP_INSTANCES, config.AUTOSCALE_MAX)} APP instances, target ${config.AUTOSCALE_TARGET_INFLIGHT} requests in flight each`
      : '  autoscaling:            off',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return {
    async stop() {
      autoscaler?.stop();
      await stack.stop();
    },
  };
}

if (!relaunchInOwnProcessGroup()) {
  const config = loadConfig('stack', stackConfigSchema);
  const log = createLogger('stack', config.LOG_LEVEL);
  void runProcess('stack', log, () => start(config, log), 30_000);
}
