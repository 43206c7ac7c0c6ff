import { DEFAULT_ACK_WAIT_MS, DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_MAX_ACK_PENDING, nakDelayMs } from './defaults';
import { isValidPattern, isValidSubject, subjectMatches, subjectsOverlap } from './subject-match';
import type { Bus, ConsumeOptions, Consumer, DurableHandler, DurableMessage, Handler, StreamDefinition, SubscribeOptions } from './types';

/** Payloads go through JSON as on the wire, so no subscriber shares an object with the publisher. */
function encode(data: unknown): string {
  return JSON.stringify(data === undefined ? null : data);
}

/**
 * A core handler that throws (or an async one that rejects) must not take the bus down with it;
 * it is reported as a process warning, as the NATS bus does.
 */
function runCoreHandler(handler: Handler, data: unknown, subject: string): void {
  const report = (error: unknown) => process.emitWarning(`bus handler for ${subject} failed: ${String(error)}`, 'BusHandlerWarning');
  try {
    const result: unknown = handler(data, subject);
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}

interface Subscription {
  pattern: string;
  handler: Handler;
  queue: string | undefined;
  active: boolean;
}

interface StoredMessage {
  seq: number;
  subject: string;
  payload: string;
  at: number;
}

interface StreamState {
  definition: StreamDefinition;
  /** Contiguous sequence numbers: messages[i].seq === firstSeq + i. */
  messages: StoredMessage[];
  firstSeq: number;
  lastSeq: number;
  /** msgId -> seq and time, in publish order (so the oldest are pruned from the front). */
  msgIds: Map<string, { seq: number; at: number }>;
  durables: Map<string, DurableState>;
}

interface PendingDelivery {
  deliveryCount: number;
  /** The ack-wait or backoff timer of the current delivery. */
  timer: NodeJS.Timeout | undefined;
}

interface Client {
  handler: DurableHandler;
  onDeadLetter: ConsumeOptions['onDeadLetter'];
  /** Messages handed to the handler at once, at most. */
  concurrency: number;
  stopped: boolean;
  /** Each settles when the handler of a message being processed settles. */
  inFlight: Set<Promise<void>>;
}

interface DurableState {
  stream: StreamState;
  filterSubject: string | undefined;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
  /** The next stream sequence to deliver for the first time (the durable's position). */
  nextSeq: number;
  /** Delivered and neither acknowledged nor given up. */
  pending: Map<number, PendingDelivery>;
  /** Pending sequences due for redelivery (ack wait expired or backoff elapsed). */
  due: Set<number>;
  /** Clients sharing the durable, like several clients of one JetStream pull consumer. */
  clients: Client[];
  nextClient: number;
}

/**
 * The in-process bus of the embedded default. Core subjects: wildcards and queue groups,
 * delivered asynchronously and at most once. Durable streams: JetStream semantics in memory
 * (limits retention: messages are kept until maxAgeMs, or for the process lifetime without
 * one), with durable consumers whose position, pending acks and redeliveries live as long as
 * the bus. One client handles `concurrency` messages at a time (default one), handed out in
 * stream order except for redeliveries.
 */
export function createMemoryBus(): Bus {
  const subscriptions = new Set<Subscription>();
  const queueTurn = new Map<string, number>();
  const streams = new Map<string, StreamState>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('memory bus is closed');
  }

  function startTimer(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    // Timers of an idle bus must not keep the process alive.
    timer.unref();
    timers.add(timer);
    return timer;
  }

  function stopTimer(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  }

  // ---- core publish/subscribe

  function deliverCore(subscription: Subscription, subject: string, payload: string): void {
    setImmediate(() => {
      if (!subscription.active || closed) return;
      runCoreHandler(subscription.handler, JSON.parse(payload), subject);
    });
  }

  function publish(subject: string, data: unknown): void {
    assertOpen();
    if (!isValidSubject(subject)) throw new Error(`invalid subject ${JSON.stringify(subject)}`);
    const payload = encode(data);
    const groups = new Map<string, Subscription[]>();
    for (const subscription of subscriptions) {
      if (!subjectMatches(subscription.pattern, subject)) continue;
      if (subscription.queue === undefined) {
        deliverCore(subscription, subject, payload);
      } else {
        const members = groups.get(subscription.queue) ?? [];
        members.push(subscription);
        groups.set(subscription.queue, members);
      }
    }
    // One member per group, taking turns.
    for (const [queue, members] of groups) {
      const turn = queueTurn.get(queue) ?? 0;
      queueTurn.set(queue, turn + 1);
      const member = members[turn % members.length];
      if (member) deliverCore(member, subject, payload);
    }
  }

  function subscribe(pattern: string, handler: Handler, options: SubscribeOptions = {}): () => void {
    assertOpen();
    if (!isValidPattern(pattern)) throw new Error(`invalid subject ${JSON.stringify(pattern)}`);
    const subscription: Subscription = { pattern, handler, queue: options.queue, active: true };
    subscriptions.add(subscription);
    return () => {
      subscription.active = false;
      subscriptions.delete(subscription);
    };
  }

  // ---- streams

  function validName(name: string): boolean {
    return name !== '' && !/[\s.*>/\\]/.test(name);
  }

  async function ensureStreams(definitions: StreamDefinition[], options: { createOnly?: boolean } = {}): Promise<void> {
    assertOpen();
    for (const definition of definitions) {
      if (!validName(definition.name)) throw new Error(`invalid stream name ${JSON.stringify(definition.name)}`);
      if (definition.subjects.length === 0 || !definition.subjects.every(isValidPattern)) {
        throw new Error(`stream ${definition.name}: invalid subjects ${JSON.stringify(definition.subjects)}`);
      }
      for (const other of streams.values()) {
        if (other.definition.name === definition.name) continue;
        const clash = definition.subjects.some((a) => other.definition.subjects.some((b) => subjectsOverlap(a, b)));
        if (clash) throw new Error(`stream ${definition.name}: subjects overlap with stream ${other.definition.name}`);
      }
      const existing = streams.get(definition.name);
      if (existing) {
        if (!options.createOnly) existing.definition = { ...definition, subjects: [...definition.subjects] };
      } else {
        streams.set(definition.name, {
          definition: { ...definition, subjects: [...definition.subjects] },
          messages: [],
          firstSeq: 1,
          lastSeq: 0,
          msgIds: new Map(),
          durables: new Map(),
        });
      }
    }
  }

  function dropAged(stream: StreamState, now: number): void {
    const { maxAgeMs } = stream.definition;
    if (!maxAgeMs) return;
    while (stream.messages.length > 0 && (stream.messages[0]?.at ?? now) <= now - maxAgeMs) {
      stream.messages.shift();
      stream.firstSeq++;
    }
  }

  function messageAt(stream: StreamState, seq: number): StoredMessage | undefined {
    return seq < stream.firstSeq ? undefined : stream.messages[seq - stream.firstSeq];
  }

  async function publishDurable(subject: string, data: unknown, msgId: string): Promise<{ seq: number; duplicate: boolean }> {
    assertOpen();
    if (!isValidSubject(subject)) throw new Error(`invalid subject ${JSON.stringify(subject)}`);
    const payload = encode(data);
    const stream = [...streams.values()].find((s) => s.definition.subjects.some((pattern) => subjectMatches(pattern, subject)));
    if (!stream) throw new Error(`no stream captures subject ${subject}`);
    const now = Date.now();
    const window = stream.definition.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    for (const [id, seen] of stream.msgIds) {
      if (seen.at > now - window) break;
      stream.msgIds.delete(id);
    }
    const seen = stream.msgIds.get(msgId);
    if (seen) return { seq: seen.seq, duplicate: true };
    dropAged(stream, now);
    const seq = ++stream.lastSeq;
    if (stream.messages.length === 0) stream.firstSeq = seq;
    stream.messages.push({ seq, subject, payload, at: now });
    stream.msgIds.set(msgId, { seq, at: now });
    for (const durable of stream.durables.values()) pump(durable);
    return { seq, duplicate: false };
  }

  // ---- durable consumers

  function toMessage(stored: StoredMessage, deliveryCount: number): DurableMessage {
    return { subject: stored.subject, data: JSON.parse(stored.payload), seq: stored.seq, deliveryCount };
  }

  function settle(durable: DurableState, seq: number): void {
    stopTimer(durable.pending.get(seq)?.timer);
    durable.pending.delete(seq);
    durable.due.delete(seq);
  }

  function deadLetter(client: Client, message: DurableMessage, error: unknown): void {
    try {
      client.onDeadLetter?.(message, error);
    } catch (callbackError) {
      process.emitWarning(`onDeadLetter for ${message.subject} failed: ${String(callbackError)}`, 'BusHandlerWarning');
    }
  }

  function markDue(durable: DurableState, seq: number, entry: PendingDelivery): void {
    if (durable.pending.get(seq) !== entry) return;
    entry.timer = undefined;
    durable.due.add(seq);
    pump(durable);
  }

  /** The next message for `client`: redeliveries first (lowest sequence), then new messages. */
  function takeNext(durable: DurableState, client: Client): StoredMessage | undefined {
    const { stream } = durable;
    while (durable.due.size > 0) {
      const seq = Math.min(...durable.due);
      durable.due.delete(seq);
      const stored = messageAt(stream, seq);
      const entry = durable.pending.get(seq);
      if (!stored || !entry) {
        settle(durable, seq);
        continue;
      }
      if (entry.deliveryCount >= durable.maxDeliver) {
        // Only reachable through ack-wait expiry: a throwing handler is given up on directly.
        settle(durable, seq);
        deadLetter(client, toMessage(stored, entry.deliveryCount), new Error(`not acknowledged within ${durable.ackWaitMs} ms, ${entry.deliveryCount} times`));
        continue;
      }
      return stored;
    }
    if (durable.pending.size >= durable.maxAckPending) return undefined;
    dropAged(stream, Date.now());
    durable.nextSeq = Math.max(durable.nextSeq, stream.firstSeq);
    while (durable.nextSeq <= stream.lastSeq) {
      const stored = messageAt(stream, durable.nextSeq++);
      if (stored && (durable.filterSubject === undefined || subjectMatches(durable.filterSubject, stored.subject))) return stored;
    }
    return undefined;
  }

  function idleClient(durable: DurableState): Client | undefined {
    const { clients } = durable;
    for (let i = 0; i < clients.length; i++) {
      const client = clients[(durable.nextClient + i) % clients.length];
      if (client && client.inFlight.size < client.concurrency) {
        durable.nextClient = (durable.nextClient + i + 1) % clients.length;
        return client;
      }
    }
    return undefined;
  }

  function pump(durable: DurableState): void {
    while (!closed) {
      const client = idleClient(durable);
      if (!client) return;
      const stored = takeNext(durable, client);
      if (!stored) return;
      dispatch(durable, client, stored);
    }
  }

  function dispatch(durable: DurableState, client: Client, stored: StoredMessage): void {
    const { seq } = stored;
    const entry = durable.pending.get(seq) ?? { deliveryCount: 0, timer: undefined };
    durable.pending.set(seq, entry);
    stopTimer(entry.timer);
    const deliveryCount = ++entry.deliveryCount;
    entry.timer = startTimer(durable.ackWaitMs, () => markDue(durable, seq, entry));
    const message = toMessage(stored, deliveryCount);
    const handled = new Promise<void>((resolve) => setImmediate(resolve)).then(() => client.handler(message));
    const settled = handled.then(
      () => {
        // A late ack still counts, even after the message was handed to another client.
        if (durable.pending.get(seq) === entry) settle(durable, seq);
      },
      (error: unknown) => {
        // Only the latest delivery decides; an older one timed out and was handed on.
        if (durable.pending.get(seq) !== entry || entry.deliveryCount !== deliveryCount || closed) return;
        if (deliveryCount >= durable.maxDeliver) {
          settle(durable, seq);
          deadLetter(client, message, error);
        } else {
          stopTimer(entry.timer);
          entry.timer = startTimer(nakDelayMs(deliveryCount), () => markDue(durable, seq, entry));
        }
      },
    );
    client.inFlight.add(settled);
    void settled.then(() => {
      client.inFlight.delete(settled);
      pump(durable);
    });
  }

  async function consume(streamName: string, durableName: string, handler: DurableHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    assertOpen();
    const stream = streams.get(streamName);
    if (!stream) throw new Error(`stream ${streamName} not found`);
    if (!validName(durableName)) throw new Error(`invalid durable name ${JSON.stringify(durableName)}`);
    const { filterSubject } = options;
    if (filterSubject !== undefined && !stream.definition.subjects.some((s) => subjectsOverlap(s, filterSubject))) {
      throw new Error(`filter subject ${filterSubject} is not within stream ${streamName}`);
    }
    const durable: DurableState = stream.durables.get(durableName) ?? {
      stream,
      filterSubject,
      ackWaitMs: DEFAULT_ACK_WAIT_MS,
      maxDeliver: Infinity,
      maxAckPending: DEFAULT_MAX_ACK_PENDING,
      nextSeq: stream.firstSeq,
      pending: new Map(),
      due: new Set(),
      clients: [],
      nextClient: 0,
    };
    stream.durables.set(durableName, durable);
    // The latest consume() sets the durable's configuration, as a consumer update does.
    durable.filterSubject = filterSubject;
    durable.ackWaitMs = options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    durable.maxDeliver = options.maxDeliver !== undefined && options.maxDeliver > 0 ? options.maxDeliver : Infinity;
    durable.maxAckPending = options.maxAckPending ?? DEFAULT_MAX_ACK_PENDING;

    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    const client: Client = { handler, onDeadLetter: options.onDeadLetter, concurrency, stopped: false, inFlight: new Set() };
    durable.clients.push(client);
    pump(durable);

    return {
      async stop() {
        if (client.stopped) return;
        client.stopped = true;
        durable.clients = durable.clients.filter((c) => c !== client);
        // Give the messages in hand until their ack wait to finish; after that they are
        // redelivered to another client anyway, so waiting longer would only delay shutdown.
        if (client.inFlight.size > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([Promise.all(client.inFlight), new Promise<void>((resolve) => (timer = setTimeout(resolve, durable.ackWaitMs)))]);
          clearTimeout(timer);
        }
      },
    };
  }

  return {
    kind: 'memory',
    publish,
    subscribe,
    ensureStreams,
    publishDurable,
    consume,
    async flush() {
      assertOpen();
      // Nothing to send anywhere; one turn also lets the core deliveries queued so far run.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    async ping() {
      assertOpen();
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const subscription of subscriptions) subscription.active = false;
      subscriptions.clear();
      for (const stream of streams.values()) {
        for (const durable of stream.durables.values()) {
          for (const client of durable.clients) client.stopped = true;
          durable.clients = [];
        }
      }
    },
  };
}
