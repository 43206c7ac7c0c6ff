import { SUBJECTS, createLogger, createMemoryBus } from '@evshare/kit';
import { createFaultDomains } from './containment';

const instance = (port: number) => ({ url: `http://127.0.0.1:${port}`, port, stop: async () => undefined });
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('fault domains', () => {
  const log = createLogger('test', 'silent');

  it('runs a service start, and what it schedules, in the service domain', async () => {
    const domains = createFaultDomains(log);
    const seen: Array<string | undefined> = [];
    const supervised = await domains.supervise('billing', async () => {
      seen.push(domains.owner());
      setTimeout(() => seen.push(domains.owner()), 1);
      void Promise.resolve().then(() => seen.push(domains.owner()));
      return instance(4100);
    });
    await nextTurn();
    expect(seen).toEqual(['billing', 'billing', 'billing']);
    expect(domains.owner()).toBeUndefined();
    expect({ url: supervised.url, port: supervised.port, restarts: supervised.restarts() }).toEqual({ url: 'http://127.0.0.1:4100', port: 4100, restarts: 0 });
  });

  it('runs a bus handler in the domain of the service that subscribed, whoever publishes', async () => {
    const domains = createFaultDomains(log);
    const shared = createMemoryBus();
    const owners: Record<string, Array<string | undefined>> = { viaView: [], direct: [] };
    await domains.supervise('sms', async () => {
      domains.bus(shared).subscribe(SUBJECTS.appDiscover, () => void owners.viaView!.push(domains.owner()));
      shared.subscribe(SUBJECTS.heartbeatOnline, () => void owners.direct!.push(domains.owner()));
      return instance(4101);
    });
    await domains.supervise('auth', async () => {
      shared.publish(SUBJECTS.appDiscover, {});
      shared.publish(SUBJECTS.heartbeatOnline, {});
      return instance(4102);
    });
    shared.publish(SUBJECTS.appDiscover, {});
    await nextTurn();
    // Without the view the handler runs wherever the message came from: the publisher's domain.
    expect(owners).toEqual({ viaView: ['sms', 'sms'], direct: ['auth'] });
    await shared.close();
  });

  it('passes every other bus member through', async () => {
    const domains = createFaultDomains(log);
    const shared = createMemoryBus();
    const view = domains.bus(shared);
    expect(view.kind).toBe('memory');
    await expect(view.ping()).resolves.toBeUndefined();
    await shared.close();
  });
});
