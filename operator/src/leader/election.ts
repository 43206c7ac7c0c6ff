import type { Logger } from '@evshare/kit';
import { isConflict, isNotFound, type KubeClient } from '../kube/client';
import { RESOURCES, resourcePath } from '../kube/resources';
import { microTime } from '../kube/time';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
 * - a candidate takes the lease when it is free, or when its holder has not renewed it for
 *   leaseDuration as measured on the candidate's own clock since it last saw the lease change
 *   (so clock skew between pods does not matter);
 * - every write carries the lease's resourceVersion, so of two candidates only one wins;
 * - the leader renews every retryPeriod and stops acting if it could not renew for
 *   renewDeadline (shorter than leaseDuration, so it has stopped before anyone else may start):
 *   a timer ends the leadership at the deadline even while a renewal hangs on a connection that
 *   drops packets, every lease request is bounded by what is left of the deadline, and the
 *   deadline counts from when a successful renewal was sent, not from when its answer came;
 * - `remainingMs()` tells the leader's other requests how long they may take (0: not leading);
 * - on stop the leader releases the lease, and a standby takes over within one retryPeriod.
 */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Observation {
  holderIdentity: string;
  renewTime: string | undefined;
  /** Local time (ms) when this holder/renewTime was first seen. */
  seenAt: number;
}

/** Remembers when the lease last changed, by the local clock. */
export function observe(previous: Observation | undefined, spec: LeaseSpec | undefined, now: number): Observation {
  const holderIdentity = spec?.holderIdentity ?? '';
  const renewTime = spec?.renewTime;
  if (previous && previous.holderIdentity === holderIdentity && previous.renewTime === renewTime) return previous;
  return { holderIdentity, renewTime, seenAt: now };
}

export function mayAcquire(observation: Observation, spec: LeaseSpec | undefined, identity: string, now: number): boolean {
  if (!observation.holderIdentity || observation.holderIdentity === identity) return true;
  return now >= observation.seenAt + (spec?.leaseDurationSeconds ?? 15) * 1000;
}

/** The spec to write to hold the lease from now. */
export function heldSpec(spec: LeaseSpec | undefined, identity: string, now: number, leaseDurationSeconds: number): LeaseSpec {
  const ours = spec?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: ours && spec?.acquireTime ? spec.acquireTime : microTime(now),
    renewTime: microTime(now),
    // As client-go: every acquisition by a new holder counts, including after a release.
    leaseTransitions: (spec?.leaseTransitions ?? 0) + (spec && !ours ? 1 : 0),
  };
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log: Logger;
}

export interface LeaderElection {
  isLeader(): boolean;
  /** What is left of the renew deadline (ms); 0 when not leading. */
  remainingMs(): number;
  /** Stops campaigning; a leader releases the lease first. */
  stop(): Promise<void>;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const { client, namespace, name, identity, log } = options;
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new RangeError('leader election needs retryPeriod < renewDeadline < leaseDuration');
  }
  const leaseSeconds = Math.ceil(leaseDurationMs / 1000);
  const collection = resourcePath(RESOURCES.leases, namespace);
  const path = resourcePath(RESOURCES.leases, namespace, name);
  let observation: Observation | undefined;
  let leading = false;
  let lastRenew = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const remainingMs = () => (leading ? Math.max(0, lastRenew + renewDeadlineMs - Date.now()) : 0);
  /** A leader's lease request may take what is left of its deadline; a candidate's, a renew deadline. */
  const timeoutMs = () => (leading ? Math.max(1, remainingMs()) : renewDeadlineMs);

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let lease: Lease | undefined;
    try {
      lease = await client.request<Lease>('GET', path, { timeoutMs: timeoutMs() });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!lease) {
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: heldSpec(undefined, identity, now, leaseSeconds),
      };
      try {
        await client.request('POST', collection, { body: created, timeoutMs: timeoutMs() });
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
      observation = observe(observation, created.spec, now);
      return true;
    }
    observation = observe(observation, lease.spec, now);
    if (!mayAcquire(observation, lease.spec, identity, now)) return false;
    const spec = heldSpec(lease.spec, identity, now, leaseSeconds);
    try {
      await client.request('PUT', path, { body: { ...lease, spec }, timeoutMs: timeoutMs() });
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
    observation = observe(observation, spec, now);
    return true;
  }

  function setLeading(next: boolean): void {
    if (!next) clearTimeout(deadlineTimer);
    if (next === leading) return;
    leading = next;
    log.info({ identity, lease: `${namespace}/${name}` }, next ? 'became the leader' : 'stopped leading');
    if (next) options.onStartedLeading();
    else options.onStoppedLeading();
  }

  function armDeadline(): void {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => {
        if (leading && Date.now() - lastRenew >= renewDeadlineMs) {
          log.warn({ identity, renewDeadlineMs }, 'could not renew the lease within the renew deadline');
          setLeading(false);
        }
      },
      lastRenew + renewDeadlineMs - Date.now(),
    );
  }

  async function campaign(): Promise<void> {
    const sentAt = Date.now();
    try {
      if (await tryAcquireOrRenew()) {
        // An answer that comes after the deadline it would grant is too late to act on.
        if (Date.now() - sentAt < renewDeadlineMs) {
          lastRenew = sentAt;
          setLeading(true);
          armDeadline();
        } else if (leading) {
          setLeading(false);
        }
      } else if (leading) {
        setLeading(false);
      }
    } catch (error) {
      log.warn({ err: error, identity }, 'lease request failed');
      if (leading && Date.now() - lastRenew >= renewDeadlineMs) setLeading(false);
    }
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      round = campaign().then(() => {
        if (!stopped) schedule(retryPeriodMs);
      });
    }, delayMs);
  }
  schedule(0);

  return {
    isLeader: () => leading,
    remainingMs,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(deadlineTimer);
      await round;
      if (!leading) return;
      setLeading(false);
      try {
        const lease = await client.request<Lease>('GET', path);
        if (lease.spec?.holderIdentity !== identity) return;
        const now = microTime(Date.now());
        await client.request('PUT', path, {
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
        });
      } catch (error) {
        log.warn({ err: error }, 'could not release the lease; a standby takes over when it expires');
      }
    },
  };
}
