import { createMemoryStore } from '@evshare/kit';
import { createCodeStore, newCode } from './codes';

const limits = { ttlMs: 300_000, intervalMs: 60_000, perDay: 10, attempts: 5, perAddressPerHour: 10, globalPerMinute: 120 };
const ADDRESS = '203.0.113.1';

describe('newCode', () => {
  it('is six digits', () => {
    for (let i = 0; i < 200; i++) expect(newCode()).toMatch(/^[0-9]{6}$/);
  });
});

describe('createCodeStore', () => {
  it('verifies the code once', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    const issued = await codes.issue('13900000001', ADDRESS);
    if (!issued.issued) throw new Error('not issued');
    expect(await codes.verify('13900000001', issued.code)).toEqual({ ok: true });
    expect(await codes.verify('13900000001', issued.code)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a second code within the interval', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    expect((await codes.issue('13900000002', ADDRESS)).issued).toBe(true);
    expect(await codes.issue('13900000002', ADDRESS)).toMatchObject({ issued: false, window: 'minute', retryAfterSeconds: 60 });
    expect((await codes.issue('13900000003', ADDRESS)).issued).toBe(true);
  });

  it('voids the code after five wrong guesses', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    const issued = await codes.issue('13900000004', ADDRESS);
    if (!issued.issued) throw new Error('not issued');
    const wrong = issued.code === '000000' ? '000001' : '000000';
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await codes.verify('13900000004', wrong));
    expect(results.map((r) => (r.ok ? 'ok' : r.reason === 'wrong' ? r.attemptsLeft : r.reason))).toEqual([4, 3, 2, 1, 0]);
    expect(await codes.verify('13900000004', issued.code)).toEqual({ ok: false, reason: 'expired' });
  });

  it('SMS pumping per address: codes for many phones from one address stop at the address budget (IPv6 by /64)', async () => {
    const codes = createCodeStore(createMemoryStore(), { ...limits, perAddressPerHour: 3 });
    const from = ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::9', '2001:db8:1:2::4'];
    const results = await Promise.all(from.map((address, i) => codes.issue(`1390000010${i}`, address)));
    expect(results.map((r) => r.issued)).toEqual([true, true, true, false]);
    expect(results[3]).toMatchObject({ window: 'address', retryAfterSeconds: 3600 });
    expect((await codes.issue('13900000200', '2001:db8:1:3::1')).issued).toBe(true);
  });

  it('SMS pumping global: codes from many addresses stop at the global budget per minute', async () => {
    const codes = createCodeStore(createMemoryStore(), { ...limits, globalPerMinute: 5 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => codes.issue(`1390000030${i}`, `198.51.100.${i + 1}`)));
    expect(results.filter((r) => r.issued)).toHaveLength(5);
    for (const refused of results.filter((r) => !r.issued)) expect(refused).toMatchObject({ window: 'global', retryAfterSeconds: 60 });
  });
});
