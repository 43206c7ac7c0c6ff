import http from 'node:http';
import { SESSION_COOKIE, seededRandom, withRetry } from '@evshare/kit';
import { applyPollReply, cookieHeader, isLoopbackTarget, keepCookies, memberAddress, nextPollDelay, pollHeaders, startOffset, type PollState } from './poll';
import { createStatsRecorder, type MemberFleetStats } from './stats';

export interface MemberAccount {
  account: string;
  password: string;
}

export interface MemberFleetOptions {
  /** The platform's entry point (gateway or ingress), e.g. http://127.0.0.1:8080. */
  url: string;
  /** Members cycle through these when `count` exceeds them (each then holds its own session). */
  accounts: MemberAccount[];
  /** Simulated members (default: one per account). */
  count?: number;
  seed?: number;
  /** A fixed poll interval; by default each member follows the server's `pollAfterMs`. */
  pollIntervalMs?: number;
  /** ± fraction of the interval (default 0.1). */
  jitter?: number;
  /** Concurrent poll requests per member per round (default 1): more in-flight load per process. */
  burst?: number;
  /** Every n-th round also lists the stations, as a member browsing the map (0: never; default 0). */
  browseEvery?: number;
  /** Members start evenly over this time (default 1000 ms), so logins do not arrive at once. */
  concurrencyRampMs?: number;
  /**
   * Each member binds its own loopback address 127.<block>.x.y when the target is on this
   * machine, as phones have their own addresses (the gateway balances by client address).
   * Default 2; 0 turns it off.
   */
  addressBlock?: number;
  /** The Host header to send, when the URL is not the name an ingress rule matches. */
  hostHeader?: string;
  timeoutMs?: number;
  /** Called with the statistics every `statsIntervalMs` (default 10 s). */
  onStats?: (stats: MemberFleetStats) => void;
  statsIntervalMs?: number;
}

export interface MemberFleet {
  stats(): MemberFleetStats;
  /** Ends every member's loop (in-flight requests finish) and closes their connections. */
  stop(): Promise<void>;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Simulated member apps: each logs in through the entry point and polls `/api/v1/sync` with
 * If-None-Match, as the phone app does (the APP service group's load in the patent), re-logging
 * in after a 401. Counts replies by kind and the latency.
 */
export function startMemberFleet(options: MemberFleetOptions): MemberFleet {
  if (options.accounts.length === 0) throw new Error('startMemberFleet needs at least one account');
  const url = options.url.replace(/\/$/, '');
  const count = options.count ?? options.accounts.length;
  const burst = Math.max(1, options.burst ?? 1);
  const jitter = options.jitter ?? 0.1;
  const ramp = options.concurrencyRampMs ?? 1000;
  const block = options.addressBlock ?? 2;
  if (!Number.isInteger(block) || block < 0 || block > 255) throw new Error('addressBlock must be an integer from 0 to 255');
  const bind = block > 0 && isLoopbackTarget(url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const seed = options.seed ?? 1;
  const recorder = createStatsRecorder();
  let running = true;
  let inflight = 0;
  let loggedIn = 0;
  const wakers = new Set<() => void>();
  const agents: http.Agent[] = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (!running) return resolve();
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  // Each member's connection pool, source address and cookies (an ingress's affinity cookie).
  interface Client {
    agent: http.Agent;
    from?: string;
    cookies: Map<string, string>;
  }
  const send = (client: Client, method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      if (payload) headers['content-type'] = 'application/json';
      if (options.hostHeader) headers.host = options.hostHeader;
      const cookie = cookieHeader(client.cookies);
      if (cookie) headers.cookie = cookie;
      const { agent, from } = client;
      inflight++;
      const req = http.request(`${url}${path}`, { method, headers, agent, localAddress: from, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        keepCookies(client.cookies, res.headers['set-cookie'], SESSION_COOKIE);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    }).finally(() => inflight--);

  const member = async (index: number) => {
    const account = options.accounts[index % options.accounts.length]!;
    // One keep-alive connection pool per member, as one phone holds its own connections.
    const client: Client = { agent: new http.Agent({ keepAlive: true, maxSockets: burst }), cookies: new Map() };
    if (bind) client.from = memberAddress(index, block);
    agents.push(client.agent);
    // Its own generator, so its jitter repeats with the seed whatever order replies arrive in.
    const generator = seededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const random = () => generator.next();
    let state: PollState = {};
    let round = 0;
    let failedLogins = 0;
    await sleep(startOffset(index, count, ramp));
    while (running) {
      if (!state.sessionKey) {
        // The web UI's retry rule: a shed login (503 + Retry-After) is sent again after the time it names, jittered.
        const reply = await withRetry(
          () => send(client, 'POST', '/api/v1/auth/login', {}, { account: account.account, password: account.password }).then(answer),
          { method: 'POST' },
          { sleep, random, onRetry: () => recorder.counts.loginRetries++ },
        )
          .then((a) => a.reply)
          .catch(() => undefined);
        recorder.counts.logins++;
        const key = reply?.status === 200 ? sessionKeyOf(reply.body) : undefined;
        if (!key) {
          recorder.counts.loginFailures++;
          // Back off (a throttled login says for how long), so a failing fleet does not hammer auth.
          const retryAfter = Number(reply?.headers['retry-after'] ?? 0) * 1000;
          failedLogins++;
          await sleep(Math.max(retryAfter, Math.min(30_000, 500 * 2 ** Math.min(failedLogins, 6))));
          continue;
        }
        failedLogins = 0;
        state = { ...state, sessionKey: key };
        loggedIn++;
      }
      round++;
      const polls = Array.from({ length: burst }, async () => {
        const started = performance.now();
        try {
          const reply = (await withRetry(() => send(client, 'GET', '/api/v1/sync', pollHeaders(state)).then(answer), { method: 'GET' }, { sleep, random }))
            .reply;
          const etag = typeof reply.headers.etag === 'string' ? reply.headers.etag : undefined;
          const pollAfterMs = reply.status === 200 ? (JSON.parse(reply.body) as { pollAfterMs?: unknown }).pollAfterMs : undefined;
          const next = applyPollReply(state, { status: reply.status, etag, pollAfterMs });
          // Only the first 401 of a burst ends the session.
          if (next.outcome === 'unauthorized' && state.sessionKey) loggedIn--;
          state = next.outcome === 'unauthorized' && !state.sessionKey ? state : next.state;
          recorder.record(next.outcome, performance.now() - started, reply.headers['x-app-instance'] as string | undefined);
        } catch {
          recorder.record('error', performance.now() - started);
        }
      });
      await Promise.all(polls);
      if (options.browseEvery && round % options.browseEvery === 0 && state.sessionKey) {
        const started = performance.now();
        const reply = await send(client, 'GET', '/api/v1/stations', pollHeaders({ sessionKey: state.sessionKey })).catch(() => undefined);
        recorder.counts.browses++;
        recorder.record(
          reply?.status === 200 ? 'ok' : reply?.status === 401 ? 'unauthorized' : 'error',
          performance.now() - started,
          reply?.headers['x-app-instance'] as string | undefined,
        );
      }
      await sleep(nextPollDelay(state, options.pollIntervalMs, jitter, random()));
    }
    if (state.sessionKey) loggedIn--;
  };

  const loops = Array.from({ length: count }, (_, i) => member(i));
  const stats = () => recorder.snapshot({ members: count, loggedIn, inflight });
  const reporter = options.onStats ? setInterval(() => options.onStats!(stats()), options.statsIntervalMs ?? 10_000) : undefined;

  return {
    stats,
    async stop() {
      running = false;
      if (reporter) clearInterval(reporter);
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}

/** A reply as the kit's retry rule reads it. */
function answer(reply: Reply) {
  const header = (name: string) => {
    const value = reply.headers[name];
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
  };
  return { status: reply.status, headers: { get: header }, reply };
}

function sessionKeyOf(body: string): string | undefined {
  try {
    const key = (JSON.parse(body) as { sessionKey?: unknown }).sessionKey;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
