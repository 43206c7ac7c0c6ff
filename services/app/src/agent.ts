import net from 'node:net';

/**
 * HAProxy's agent check (the operator-rendered HAProxy entry, docs/operator.md "HAProxy"): HAProxy
 * connects to this port on every APP pod every few seconds and reads one line that sets the
 * server's weight, connection limit and administrative state. It is how the instance's own load
 * reaches a battle-tested proxy without a control plane in between: HAProxy dials the pod
 * address it resolved from the cluster's DNS, so a report cannot come from anyone but the pod.
 */
export interface AgentState {
  draining: boolean;
  inflight: number;
  maxConcurrency: number;
}

/**
 * Pure: the agent's line. The weight moves in three coarse steps, not continuously: with
 * consistent hashing every weight change moves members between pods, so only real pressure, the
 * pod's request slots filling up, may move them; bounded load (`hash-balance-factor`) already
 * evens out concurrency. Not the event loop's utilization: it rises with CPU contention from
 * neighbours and while a new pod warms up, and on the real cluster it moved members of idle pods.
 * `maxconn` makes HAProxy queue, by time, what this instance would queue itself.
 */
export function agentReply(state: AgentState): string {
  if (state.draining) return 'drain\n';
  const pressure = state.maxConcurrency > 0 ? state.inflight / state.maxConcurrency : 0;
  const weight = pressure < 0.75 ? 100 : pressure < 0.9 ? 50 : 25;
  return `up ready ${weight}% maxconn:${state.maxConcurrency}\n`;
}

export interface LoadAgent {
  port: number;
  close(): Promise<void>;
}

/** Answers every connection with the current line and closes it, as HAProxy expects. */
export async function startLoadAgent(port: number, host: string, state: () => AgentState): Promise<LoadAgent> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.setTimeout(2_000, () => socket.destroy());
    // Whatever the peer sends is ignored: the line depends on nothing it says.
    socket.resume();
    socket.end(agentReply(state()));
  });
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
