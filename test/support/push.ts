import WebSocket from 'ws';
import { eventually } from './http';
import { messageText } from './ws';

/** Opens the push channel through the gateway with the session cookie and collects what arrives. */
export async function openPush(gatewayUrl: string, key: string) {
  const socket = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/push`, { headers: { cookie: `evs_session=${key}` } });
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<{ code: number; at: number }>((resolve) => socket.once('close', (code) => resolve({ code, at: Date.now() })));
  socket.on('message', (data) => messages.push(JSON.parse(messageText(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await eventually(() => expect(messages.some((m) => m.type === 'welcome')).toBe(true));
  return { socket, messages, closed };
}
