/**
 * A TCP proxy in front of the API server, so a test can cut a client's connections (a dropped
 * watch) or keep it off the server for a while (and make its resourceVersion go stale).
 *
 *   const proxy = await startTcpProxy(cp.server);   // proxy.server: https://127.0.0.1:<port>
 *   proxy.dropAll();                                // resets every open connection
 *   proxy.pause(); ...; proxy.resume();             // refuses connections meanwhile
 *   proxy.blackhole(); ...; proxy.resume();         // silently drops every byte, both ways:
 *                                                   // open connections stay open, new ones
 *                                                   // are accepted and hang (as a partition)
 *   await proxy.close();
 *
 * TLS passes through untouched; the serving certificate is for 127.0.0.1, so it still verifies.
 */
import net from 'node:net';

export interface TcpProxy {
  server: string;
  port: number;
  readonly connections: number;
  dropAll(): void;
  pause(): void;
  blackhole(): void;
  /** Ends pause or blackhole; connections that lost bytes to the blackhole are closed. */
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: string): Promise<TcpProxy> {
  const target = new URL(upstream);
  const pairs = new Set<[net.Socket, net.Socket]>();
  /** Connections accepted during a blackhole: never connected upstream, their bytes dropped. */
  const held = new Set<net.Socket>();
  let paused = false;
  let blackholed = false;
  const listener = net.createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    if (blackholed) {
      held.add(client);
      client
        .on('data', () => undefined)
        .on('error', () => client.destroy())
        .on('close', () => held.delete(client));
      return;
    }
    const server = net.connect(Number(target.port), target.hostname);
    const pair: [net.Socket, net.Socket] = [client, server];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      server.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    // Not pipe(): a blackhole must drop bytes, not buffer them for later.
    client.on('data', (chunk) => blackholed || server.write(chunk));
    server.on('data', (chunk) => blackholed || client.write(chunk));
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const dropAll = () => {
    // destroy(), not resetAndDestroy(): on Node 20 a reset socket can keep its handle (and the
    // test process) alive after the test.
    for (const [client, server] of pairs) {
      client.destroy();
      server.destroy();
    }
    pairs.clear();
    for (const client of held) client.destroy();
    held.clear();
  };
  return {
    server: `${target.protocol}//127.0.0.1:${port}`,
    port,
    get connections() {
      return pairs.size;
    },
    dropAll,
    pause() {
      paused = true;
      dropAll();
    },
    blackhole() {
      blackholed = true;
    },
    resume() {
      // A TLS stream that lost bytes cannot go on; its client sees a closed connection.
      if (blackholed) dropAll();
      blackholed = false;
      paused = false;
    },
    close() {
      dropAll();
      return new Promise((resolve) => listener.close(() => resolve()));
    },
  };
}
