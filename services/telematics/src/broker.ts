import net from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import { createBroker, type Client } from 'aedes';
import type { Logger, Pool } from '@evshare/kit';
import { verifyVehicleSecret } from './credentials';
import { parseTopic, vehicleTopic, VIN_PATTERN } from './protocol';

export interface EmbeddedBrokerOptions {
  port: number;
  host: string;
  db: Pool;
  log: Logger;
  topicRoot: string;
  /** The telematics service's own credential: may publish and subscribe everywhere. */
  service: { username: string; password: string };
  onAuthFailure?: () => void;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  connectedClients(): number;
  close(): Promise<void>;
}

type Identity = { role: 'service' } | { role: 'vehicle'; vin: string };

/** A car publishes only these channels of its own topics, and subscribes only its commands. */
const VEHICLE_PUBLISHES = new Set(['telemetry', 'events', 'acks', 'status']);

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

function errorWithCode(message: string, returnCode: number) {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The embedded MQTT broker (aedes) for development and the one-process stack. Every client
 * authenticates: a car with username = its VIN and its terminal secret, the telematics service
 * with its own credential. The ACL keeps each car to its own topics (Mosquitto does the same in
 * production with a password file or the dynamic-security plugin and `pattern` ACLs).
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, log, topicRoot, service } = options;
  const identities = new WeakMap<Client, Identity>();
  const servicePassword = digest(service.password);

  const broker = createBroker({
    // MQTT 3.1.1 lets a broker refuse ids over 23 characters; instance names are longer.
    maxClientsIdLength: 128,
    authenticate(client, username, password, done) {
      const refuse = () => {
        options.onAuthFailure?.();
        done(errorWithCode('bad username or password', 4), false);
      };
      if (!username || !password) return refuse();
      if (username === service.username) {
        if (timingSafeEqual(digest(password), servicePassword)) {
          identities.set(client, { role: 'service' });
          return done(null, true);
        }
        return refuse();
      }
      if (!VIN_PATTERN.test(username)) return refuse();
      verifyVehicleSecret(db, username, password.toString('utf8')).then(
        (ok) => {
          if (!ok) return refuse();
          identities.set(client, { role: 'vehicle', vin: username });
          done(null, true);
        },
        (error: unknown) => {
          log.warn({ err: error }, 'vehicle credential check failed');
          done(errorWithCode('server unavailable', 3), false);
        },
      );
    },
    authorizePublish(client, packet, callback) {
      // The broker's own messages (client null) and the service are trusted.
      const identity = client ? identities.get(client) : { role: 'service' as const };
      if (identity?.role === 'service') return callback(null);
      const target = parseTopic(topicRoot, packet.topic);
      if (identity && target && target.vin === identity.vin && VEHICLE_PUBLISHES.has(target.channel)) return callback(null);
      callback(new Error(`not allowed to publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, callback) {
      const identity = identities.get(client);
      if (identity?.role === 'service') return callback(null, subscription);
      if (identity?.role === 'vehicle' && subscription.topic === vehicleTopic(topicRoot, identity.vin, 'commands')) return callback(null, subscription);
      // A refused subscription is answered with the failure code; the connection stays.
      callback(null, null);
    },
  });
  broker.on('clientError', (client, error) => log.debug({ client: client.id, err: error }, 'mqtt client error'));

  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${options.host}:${port}`,
    port,
    connectedClients: () => broker.connectedClients,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
