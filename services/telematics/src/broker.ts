import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { timingSafeEqual, createHash } from 'node:crypto';
import { createBroker, type Client } from 'aedes';
import { LISTEN_BACKLOG, verifyVehicleSecret, type Logger, type Pool } from '@evshare/kit';
import { createFrameGuard, type FrameRefusal } from './framing';
import { parseTopic, vehicleTopic, VIN_PATTERN } from './protocol';
import { guardedStream, memoryPair } from './streams';

export interface EmbeddedBrokerOptions {
  port: number;
  host: string;
  db: Pool;
  log: Logger;
  topicRoot: string;
  /**
   * The telematics service's own credential: may publish and subscribe everywhere. Over the
   * network only when `network` (an operator-set password, for tools such as the benchmark);
   * otherwise only over `connectInternal`.
   */
  service: { username: string; password: string; network: boolean };
  /** The cars' port speaks TLS with this certificate and key (PEM) when given. */
  tls?: { cert: Buffer; key: Buffer };
  /** Largest remaining length of a packet before the client is authenticated (its CONNECT). */
  maxConnectBytes: number;
  /** Largest remaining length of an authenticated car's packet. */
  maxPacketBytes: number;
  /** A client whose CONNECT has not arrived by then is closed. */
  connectTimeoutMs: number;
  onAuthFailure?: () => void;
  /** A connection closed or a packet refused for breaking the rules, by reason. */
  onRefused?: (reason: BrokerRefusal) => void;
}

export type BrokerRefusal = FrameRefusal | 'protocol' | 'client-id' | 'publish' | 'subscribe';

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** A fresh in-memory connection to the broker, for the service's own MQTT client. */
  connectInternal(): Duplex;
  connectedClients(): number;
  close(): Promise<void>;
}

type Identity = { role: 'service' } | { role: 'vehicle'; vin: string };

/** A car publishes only these channels of its own topics, and subscribes only its commands. */
const VEHICLE_PUBLISHES = new Set(['telemetry', 'events', 'acks', 'status']);
/** Cars must ping at least this often (seconds): an idle connection cannot be held for ever. */
const KEEPALIVE_LIMIT_S = 600;
/** The service's own packets (full whitelists) over the network. */
const SERVICE_MAX_PACKET_BYTES = 16 * 1024 * 1024;

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

function errorWithCode(message: string, returnCode: number) {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The embedded MQTT broker (aedes) for development, the one-process stack and a small fleet.
 * Every car authenticates with username = its VIN, its terminal secret and client id = its VIN, so
 * no car can take over (and push offline) another's session. Before authentication a packet may
 * announce at most `maxConnectBytes`, after it `maxPacketBytes`: bigger ones close the connection
 * from their header alone. The ACL keeps each car to its own topics (Mosquitto does the same in
 * production with `pattern` ACLs and `use_username_as_clientid`). The service itself connects
 * in memory; its credential is refused on the network unless the operator set one.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, log, topicRoot, service } = options;
  const identities = new WeakMap<Client, Identity>();
  const internal = new WeakSet<Duplex>();
  const limits = new WeakMap<Duplex, number>();
  const servicePassword = digest(service.password);
  const refused = (reason: BrokerRefusal) => options.onRefused?.(reason);
  /** Errors already counted when they were raised. */
  const counted = new WeakSet<Error>();

  const broker = createBroker({
    // MQTT 3.1.1 lets a broker refuse ids over 23 characters; the service's are longer.
    maxClientsIdLength: 128,
    connectTimeout: options.connectTimeoutMs,
    keepaliveLimit: KEEPALIVE_LIMIT_S,
    authenticate(client, username, password, done) {
      const refuse = () => {
        options.onAuthFailure?.();
        done(errorWithCode('bad username or password', 4), false);
      };
      const conn = client.conn as Duplex;
      if (!username || !password) return refuse();
      if (internal.has(conn) || (service.network && username === service.username)) {
        if (username !== service.username || !timingSafeEqual(digest(password), servicePassword)) return refuse();
        identities.set(client, { role: 'service' });
        limits.set(conn, SERVICE_MAX_PACKET_BYTES);
        return done(null, true);
      }
      if (!VIN_PATTERN.test(username)) return refuse();
      // Checked before the secret: a session is replaced only after authentication, so a wrong id never kicks anyone.
      if (client.id !== username) {
        refused('client-id');
        return done(errorWithCode('the client id must be the VIN', 2), false);
      }
      verifyVehicleSecret(db, username, password.toString('utf8')).then(
        (ok) => {
          if (!ok) return refuse();
          identities.set(client, { role: 'vehicle', vin: username });
          limits.set(conn, options.maxPacketBytes);
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
      const own = identity && target && target.vin === identity.vin && VEHICLE_PUBLISHES.has(target.channel);
      // QoS 0 and 1 only; only the status is retained (the last will's topic).
      if (own && packet.qos <= 1 && (!packet.retain || target.channel === 'status')) return callback(null);
      refused('publish');
      const error = new Error(`not allowed to publish to ${packet.topic}`);
      counted.add(error);
      callback(error);
    },
    authorizeSubscribe(client, subscription, callback) {
      const identity = identities.get(client);
      if (identity?.role === 'service') return callback(null, subscription);
      if (identity?.role === 'vehicle' && subscription.topic === vehicleTopic(topicRoot, identity.vin, 'commands')) {
        return callback(null, { ...subscription, qos: subscription.qos > 1 ? 1 : subscription.qos });
      }
      // A refused subscription is answered with the failure code; the connection stays.
      refused('subscribe');
      callback(null, null);
    },
  });
  // A malformed packet, a CONNECT too late, an unsupported protocol level or keepalive, a silent
  // client: counted as `protocol`. Socket errors are the network's; refused credentials, client ids
  // and publishes are counted where they are decided.
  const onError = (client: Client, error: Error) => {
    log.debug({ client: client.id, err: error }, 'mqtt client error');
    const { code, errorCode } = error as { code?: string; errorCode?: number };
    if (code === undefined && !counted.has(error) && (errorCode === undefined || errorCode === 1 || errorCode === 6)) refused('protocol');
  };
  broker.on('clientError', onError);
  broker.on('connectionError', onError);

  const accept = (socket: net.Socket) => {
    socket.on('error', () => undefined);
    let stream: Duplex | undefined;
    const guard = createFrameGuard(() => (stream && limits.get(stream)) ?? options.maxConnectBytes);
    stream = guardedStream(socket, guard, refused);
    broker.handle(stream);
  };
  const server = options.tls
    ? tls.createServer({ ...options.tls, minVersion: 'TLSv1.2', handshakeTimeout: options.connectTimeoutMs }).on('secureConnection', accept)
    : net.createServer(accept);
  // A failed TLS handshake (plain TCP, a wrong certificate) just closes that socket.
  server.on('tlsClientError', (error: Error) => log.debug({ err: error }, 'mqtt tls handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A thousand cars reconnect together after an outage: the kit's backlog, not Node's 511.
    server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${options.host}:${port}`,
    port,
    connectInternal() {
      const [client, brokerSide] = memoryPair();
      internal.add(brokerSide);
      broker.handle(brokerSide);
      return client;
    },
    connectedClients: () => broker.connectedClients,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
