import {
  AckPolicy,
  DeliverPolicy,
  Events,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
  type NatsConnection,
  type NatsError,
  type StreamConfig,
} from 'nats';
// Explicit defaults so a stream update resets what a definition leaves out.
import { DEFAULT_ACK_WAIT_MS, DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_MAX_ACK_PENDING, nakDelayMs } from './defaults';
import { isValidPattern, isValidSubject } from './subject-match';
import type { Bus, ConsumeOptions, Consumer, DurableHandler, DurableMessage, Handler, StreamDefinition, SubscribeOptions } from './types';

export interface NatsBusOptions {
  /** e.g. nats://127.0.0.1:4222; several servers may be given comma-separated. */
  url: string;
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /**
   * Namespace for parallel tests (or tenants) on one server, e.g. `t1abc.`: prepended to every
   * subject, and (upper-cased, `.` as `_`) to every stream and durable name. Handlers see
   * subjects without it.
   */
  prefix?: string;
  /** The service's NATS user and password (see permissions.ts); none for a server without authentication. */
  user?: string;
  password?: string;
  /**
   * Prefix of the connection's reply inboxes (JetStream API answers, pulled messages), e.g.
   * `_INBOX.billing`: a user's subscribe permission covers its own inboxes only.
   */
  inboxPrefix?: string;
  /**
   * Keep dialling until the first connection succeeds instead of failing: a pod that starts
   * before its NATS (a fresh install, a broker restart) waits, unready, rather than crash-looping.
   * Without it an unreachable server fails the call, which tests and tools want.
   */
  waitForFirstConnection?: boolean;
}

const PING_TIMEOUT_MS = 1000;
const DRAIN_TIMEOUT_MS = 5000;
/** JetStream's "stream name already in use" (a stream with that name and another config). */
const STREAM_NAME_IN_USE = 10058;

/** Delay before re-creating a consumer's message iterator after it ended or failed. */
function restartDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 5000);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(data: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(data === undefined ? null : data));
}

function decode(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}

function apiErrorCode(error: unknown): number | undefined {
  return (error as NatsError | undefined)?.api_error?.err_code;
}

/** A core handler that throws must not break the connection's parser; it is reported instead. */
function runCoreHandler(handler: Handler, data: unknown, subject: string): void {
  const report = (error: unknown) => process.emitWarning(`bus handler for ${subject} failed: ${String(error)}`, 'BusHandlerWarning');
  try {
    const result: unknown = handler(data, subject);
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let wake: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, ms);
  });
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      wake();
    },
  };
}

/** The bus on NATS: core subjects for pub/sub, JetStream for durable streams. */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const prefix = options.prefix ?? '';
  const namePrefix = prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
  const nc: NatsConnection = await connect({
    servers: options.url.split(',').map((s) => s.trim()),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.user === undefined ? {} : { user: options.user, pass: options.password ?? '' }),
    ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix }),
    // Survive broker restarts and rolling upgrades: never give up, retry quickly.
    waitOnFirstConnect: options.waitForFirstConnection ?? false,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
  });
  // The server refuses a subject outside the user's permissions without closing the connection;
  // say so, or a misconfigured deployment would only see requests time out.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Error && status.data === 'PERMISSIONS_VIOLATION') {
        const context = status.permissionContext;
        process.emitWarning(
          `nats refused ${context ? `${context.operation} to ${context.subject}` : 'an operation'} for user ${options.user ?? '(none)'}`,
          'BusPermissionWarning',
        );
      }
    }
  })();
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager({ checkAPI: false });

  const wire = (subject: string) => prefix + subject;
  const local = (subject: string) => (subject.startsWith(prefix) ? subject.slice(prefix.length) : subject);
  const streamName = (name: string) => namePrefix + name;
  const consumers = new Set<Consumer>();

  function subscribe(pattern: string, handler: Handler, subscribeOptions: SubscribeOptions = {}): () => void {
    if (!isValidPattern(pattern)) throw new Error(`invalid subject ${JSON.stringify(pattern)}`);
    const subscription = nc.subscribe(wire(pattern), {
      ...(subscribeOptions.queue === undefined ? {} : { queue: subscribeOptions.queue }),
      callback: (error, msg) => {
        if (error) return;
        const subject = local(msg.subject);
        let data: unknown;
        try {
          data = decode(msg.data);
        } catch (decodeError) {
          process.emitWarning(`bus message on ${subject} is not JSON: ${String(decodeError)}`, 'BusHandlerWarning');
          return;
        }
        runCoreHandler(handler, data, subject);
      },
    });
    return () => {
      if (!nc.isClosed()) subscription.unsubscribe();
    };
  }

  async function ensureStreams(definitions: StreamDefinition[], ensureOptions: { createOnly?: boolean } = {}): Promise<void> {
    for (const definition of definitions) {
      const maxAgeMs = definition.maxAgeMs ?? 0;
      // JetStream refuses a duplicate window longer than the maximum age.
      const duplicateWindowMs = definition.duplicateWindowMs ?? (maxAgeMs > 0 ? Math.min(maxAgeMs, DEFAULT_DUPLICATE_WINDOW_MS) : DEFAULT_DUPLICATE_WINDOW_MS);
      const config: Partial<StreamConfig> & { name: string } = {
        name: streamName(definition.name),
        subjects: definition.subjects.map(wire),
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(duplicateWindowMs),
        max_age: nanos(maxAgeMs),
      };
      try {
        await jsm.streams.add(config);
      } catch (error) {
        if (apiErrorCode(error) !== STREAM_NAME_IN_USE) throw error;
        if (ensureOptions.createOnly) continue;
        // Exists with another configuration: update what may change (storage may not).
        const { storage: _storage, retention: _retention, ...update } = config;
        await jsm.streams.update(config.name, update);
      }
    }
  }

  async function publishDurable(subject: string, data: unknown, msgId: string): Promise<{ seq: number; duplicate: boolean }> {
    if (!isValidSubject(subject)) throw new Error(`invalid subject ${JSON.stringify(subject)}`);
    const ack = await js.publish(wire(subject), encode(data), { msgID: msgId });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  async function consume(stream: string, durable: string, handler: DurableHandler, consumeOptions: ConsumeOptions = {}): Promise<Consumer> {
    const { filterSubject, onDeadLetter } = consumeOptions;
    if (filterSubject !== undefined && !isValidPattern(filterSubject)) throw new Error(`invalid filter subject ${JSON.stringify(filterSubject)}`);
    const ackWaitMs = consumeOptions.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    const maxDeliver = consumeOptions.maxDeliver !== undefined && consumeOptions.maxDeliver > 0 ? consumeOptions.maxDeliver : -1;
    const jsStream = streamName(stream);
    const jsDurable = streamName(durable);
    const config: Partial<ConsumerConfig> = {
      durable_name: jsDurable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_deliver: maxDeliver,
      max_ack_pending: consumeOptions.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
      ...(filterSubject === undefined ? {} : { filter_subject: wire(filterSubject) }),
    };
    // Creates the durable, or updates it: the latest consume() sets its configuration.
    await jsm.consumers.add(jsStream, config);

    const concurrency = Math.max(1, Math.floor(consumeOptions.concurrency ?? 1));
    let stopped = false;
    let messages: ConsumerMessages | undefined;
    const inFlight = new Set<Promise<void>>();
    let pause: ReturnType<typeof delay> | undefined;

    function deadLetter(message: DurableMessage, error: unknown): void {
      try {
        onDeadLetter?.(message, error);
      } catch (callbackError) {
        process.emitWarning(`onDeadLetter for ${message.subject} failed: ${String(callbackError)}`, 'BusHandlerWarning');
      }
    }

    async function handle(m: JsMsg): Promise<void> {
      const { deliveryCount } = m.info;
      const subject = local(m.subject);
      let data: unknown;
      try {
        data = decode(m.data);
      } catch (error) {
        // No redelivery can fix a payload that is not JSON.
        m.term();
        deadLetter({ subject, data: m.string(), seq: m.seq, deliveryCount }, error);
        return;
      }
      const message: DurableMessage = { subject, data, seq: m.seq, deliveryCount };
      try {
        await handler(message);
        m.ack();
      } catch (error) {
        if (maxDeliver > 0 && deliveryCount >= maxDeliver) {
          m.term();
          deadLetter(message, error);
        } else {
          m.nak(nakDelayMs(deliveryCount));
        }
      }
    }

    // A message that ran out of deliveries by not being acked in time (a handler that hangs or a
    // client that died) is announced by the server; one client of the durable reports it.
    const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${jsStream}.${jsDurable}`, {
      queue: jsDurable,
      callback: (error, msg) => {
        if (error || stopped) return;
        let event: { stream_seq?: unknown; deliveries?: unknown };
        try {
          event = decode(msg.data) as typeof event;
        } catch {
          return;
        }
        const seq = event.stream_seq;
        if (typeof seq !== 'number') return;
        const deliveries = typeof event.deliveries === 'number' ? event.deliveries : maxDeliver;
        jsm.streams
          .getMessage(jsStream, { seq })
          .then((stored) => {
            let data: unknown;
            try {
              data = decode(stored.data);
            } catch {
              data = decoder.decode(stored.data);
            }
            deadLetter(
              { subject: local(stored.subject), data, seq: stored.seq, deliveryCount: deliveries },
              new Error(`not acknowledged within ${ackWaitMs} ms, ${deliveries} times`),
            );
          })
          .catch((fetchError: unknown) => {
            process.emitWarning(`dead letter ${jsStream}#${seq} could not be read: ${String(fetchError)}`, 'BusHandlerWarning');
          });
      },
    });

    // The message iterator may end or fail (consumer or stream briefly missing while a restarted
    // server recovers, connection trouble); it is re-created with backoff until stop().
    void (async () => {
      for (let attempt = 0; !stopped && !nc.isClosed(); attempt++) {
        try {
          if (attempt > 0) await jsm.consumers.add(jsStream, config);
          const consumer = await js.consumers.get(jsStream, jsDurable);
          // Pulls sized to what is handled at once (the client refills its buffer while the
          // handlers run, so up to twice that is unacknowledged): JetStream starts the ack wait at
          // delivery, so a deep prefetch behind slow handlers would time out and be redelivered.
          messages = await consumer.consume({ max_messages: concurrency, abort_on_missing_resource: true });
          if (stopped) messages.stop();
          for await (const m of messages) {
            attempt = 0;
            if (stopped) {
              // Hand it back at once instead of letting it wait out its ack wait.
              m.nak();
              continue;
            }
            const handled = handle(m).finally(() => inFlight.delete(handled));
            inFlight.add(handled);
            if (inFlight.size >= concurrency) await Promise.race(inFlight);
          }
        } catch (error) {
          // Retried below; consumers.add re-creates the durable if the server lost it.
          if (!stopped && !nc.isClosed()) {
            process.emitWarning(`consumer ${jsDurable} on ${jsStream} failed, restarting: ${String(error)}`, 'BusConsumerWarning');
          }
        }
        if (stopped || nc.isClosed()) break;
        pause = delay(restartDelayMs(attempt));
        await pause.promise;
      }
    })();

    const consumer: Consumer = {
      async stop() {
        if (stopped) return;
        stopped = true;
        consumers.delete(consumer);
        pause?.cancel();
        messages?.stop();
        if (!nc.isClosed()) advisory.unsubscribe();
        // Give the messages in hand until their ack wait to finish; after that the server
        // redelivers them to another client anyway.
        if (inFlight.size > 0) {
          const wait = delay(ackWaitMs);
          await Promise.race([Promise.all(inFlight), wait.promise]);
          wait.cancel();
        }
      },
    };
    consumers.add(consumer);
    return consumer;
  }

  return {
    kind: 'nats',
    publish(subject, data) {
      if (!isValidSubject(subject)) throw new Error(`invalid subject ${JSON.stringify(subject)}`);
      nc.publish(wire(subject), encode(data));
    },
    subscribe,
    ensureStreams,
    publishDurable,
    consume,
    flush: () => nc.flush(),
    async ping() {
      if (nc.isClosed()) throw new Error('nats connection is closed');
      const wait = delay(PING_TIMEOUT_MS);
      const pong = nc.flush();
      // While disconnected the PING waits for a reconnect; that late outcome is not needed.
      pong.catch(() => undefined);
      const answered = await Promise.race([pong.then(() => true), wait.promise.then(() => false)]);
      wait.cancel();
      if (!answered) throw new Error(`nats did not answer PING within ${PING_TIMEOUT_MS} ms`);
    },
    async close() {
      if (nc.isClosed()) return;
      await Promise.all([...consumers].map((c) => c.stop()));
      // Drain delivers what is buffered and flushes acks; it waits for a reconnect when the
      // server is gone, so it is bounded.
      const wait = delay(DRAIN_TIMEOUT_MS);
      await Promise.race([nc.drain().catch(() => undefined), wait.promise]);
      wait.cancel();
      if (!nc.isClosed()) await nc.close();
    },
  };
}
