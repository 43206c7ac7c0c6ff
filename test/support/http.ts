import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One HTTP request with node:http, optionally from a chosen loopback source address
 * (127.0.0.0/8 all routes to this machine), so a test can act as many client addresses.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string | Buffer; from?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers, localAddress: options.from, agent: false, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function login(gatewayUrl: string, account: string, password: string, from?: string): Promise<string> {
  const reply = await request(`${gatewayUrl}/api/v1/auth/login`, { method: 'POST', body: { account, password }, from });
  if (reply.status !== 200) throw new Error(`login ${account} failed: ${reply.status} ${reply.body}`);
  return reply.json<{ sessionKey: string }>().sessionKey;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Polls until the check passes or the time is up (then throws the last failure). */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 5_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Distinct loopback client addresses 127.1.x.y. */
export function clientAddress(i: number): string {
  return `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}
