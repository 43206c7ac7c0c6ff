/**
 * The narrow message-bus interface: core publish/subscribe (NATS core, at-most-once) and
 * durable streams (NATS JetStream, at-least-once with explicit acks). Implemented by NATS and
 * by an in-process bus for the embedded default; both pass the same contract suite
 * (bus.contract.ts). Payloads are JSON values.
 */
export type Handler = (data: unknown, subject: string) => void;

export interface SubscribeOptions {
  /** Queue group: each message goes to one subscriber of the group. */
  queue?: string;
}

export interface StreamDefinition {
  name: string;
  /** Subjects captured by the stream, e.g. ['deduction.>']. */
  subjects: string[];
  /** Window in which a repeated msgId is dropped as a duplicate. */
  duplicateWindowMs?: number;
  /** Messages older than this are discarded. */
  maxAgeMs?: number;
}

export interface DurableMessage {
  subject: string;
  data: unknown;
  /** Stream sequence number. */
  seq: number;
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  deliveryCount: number;
}

export interface ConsumeOptions {
  /** Only messages whose subject matches this filter. */
  filterSubject?: string;
  /** Redeliver a message not acknowledged within this time. */
  ackWaitMs?: number;
  /** Give up on a message after this many deliveries (it is then terminated and reported). */
  maxDeliver?: number;
  /** How many unacknowledged messages one consumer may hold. */
  maxAckPending?: number;
  /**
   * How many messages one client hands to the handler at once (default 1: one after another).
   * Above 1 the handler runs concurrently, called in delivery order; it must keep whatever order
   * it needs itself. On NATS the client also prefetches up to as many again, so the durable's
   * maxAckPending should cover twice every client's concurrency.
   */
  concurrency?: number;
  /** Called when a message is given up after maxDeliver deliveries (dead letter). */
  onDeadLetter?: (message: DurableMessage, error: unknown) => void;
}

/**
 * Resolving acknowledges the message; throwing asks for a redelivery (with backoff) until
 * maxDeliver is reached.
 */
export type DurableHandler = (message: DurableMessage) => Promise<void>;

export interface Consumer {
  stop(): Promise<void>;
}

export interface Bus {
  readonly kind: 'nats' | 'memory';
  publish(subject: string, data: unknown): void;
  /** Subject patterns use NATS wildcards: `*` one token, `>` the rest. Returns an unsubscribe. */
  subscribe(subject: string, handler: Handler, options?: SubscribeOptions): () => void;
  /**
   * Creates or updates the streams (idempotent). With createOnly, a stream that exists already is
   * left as it is: its owner keeps its configuration (a publisher's NATS user may not change it).
   */
  ensureStreams(streams: StreamDefinition[], options?: { createOnly?: boolean }): Promise<void>;
  /** Publishes into a stream; a msgId seen within the stream's duplicate window is dropped. */
  publishDurable(subject: string, data: unknown, msgId: string): Promise<{ seq: number; duplicate: boolean }>;
  /** Starts a durable consumer (named, survives restarts) on a stream. */
  consume(stream: string, durable: string, handler: DurableHandler, options?: ConsumeOptions): Promise<Consumer>;
  /** Resolves when everything published so far reached the server. */
  flush(): Promise<void>;
  /** Rejects when the bus cannot be reached (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
