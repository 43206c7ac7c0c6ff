import net from 'node:net';
import fc from 'fast-check';
import { agentReply, startLoadAgent, type AgentState } from './agent';

const idle: AgentState = { draining: false, inflight: 0, maxConcurrency: 64 };

describe('agentReply', () => {
  it.each<[string, Partial<AgentState>, string]>([
    ['idle', {}, 'up ready 100% maxconn:64\n'],
    ['busy below three quarters', { inflight: 47 }, 'up ready 100% maxconn:64\n'],
    ['three quarters of the slots', { inflight: 48 }, 'up ready 50% maxconn:64\n'],
    ['nine tenths of the slots', { inflight: 58 }, 'up ready 25% maxconn:64\n'],
    ['slots full, queueing', { inflight: 90 }, 'up ready 25% maxconn:64\n'],
    ['draining wins over load', { draining: true, inflight: 90 }, 'drain\n'],
    ['no slots configured', { maxConcurrency: 0, inflight: 5 }, 'up ready 100% maxconn:0\n'],
  ])('%s', (_, change, line) => {
    expect(agentReply({ ...idle, ...change })).toBe(line);
  });

  it('always answers one line HAProxy can parse, whose weight only falls as pressure rises', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.integer({ min: 1, max: 10_000 }), (a, b, maxConcurrency) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const weight = (inflight: number) => {
          const line = agentReply({ draining: false, inflight, maxConcurrency });
          expect(line).toMatch(/^up ready (100|50|25)% maxconn:\d+\n$/);
          return Number(/(\d+)%/.exec(line)![1]);
        };
        expect(weight(high)).toBeLessThanOrEqual(weight(low));
      }),
      { seed: 1405 },
    );
  });
});

describe('startLoadAgent', () => {
  it('answers each connection with the current line and closes it, whatever the peer sends', async () => {
    let state = idle;
    const agent = await startLoadAgent(0, '127.0.0.1', () => state);
    const read = (send?: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(agent.port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        if (send !== undefined) socket.write(send);
      });
    try {
      expect(await read()).toBe('up ready 100% maxconn:64\n');
      state = { ...idle, draining: true };
      expect(await read('GET / HTTP/1.1\r\n\r\n' + 'x'.repeat(100_000))).toBe('drain\n');
    } finally {
      await agent.close();
    }
  });
});
