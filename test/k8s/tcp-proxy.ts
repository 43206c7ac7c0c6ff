/**
 * A TCP proxy in front of the API server, so a test can cut a client's connections (a dropped
 * watch) or keep it off the server for a while (and make its resourceVersion go stale).
 *
 *   const proxy = await startTcpProxy(cp.server);   // proxy.server: https://127.0.0.1:<port>
 *   proxy.dropAll();                                // resets every open connection
 *   proxy.pause(); ...; proxy.resume();             // refuses connections meanwhile
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
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: string): Promise<TcpProxy> {
  const target = new URL(upstream);
  const pairs = new Set<[net.Socket, net.Socket]>();
  let paused = false;
  const listener = net.createServer((client) => {
    if (paused) {
      client.destroy();
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
    client.pipe(server);
    server.pipe(client);
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
    resume() {
      paused = false;
    },
    close() {
      dropAll();
      return new Promise((resolve) => listener.close(() => resolve()));
    },
  };
}
