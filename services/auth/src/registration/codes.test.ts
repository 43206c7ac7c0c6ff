import { createMemoryStore } from '@evshare/kit';
import { createCodeStore, newCode } from './codes';

const limits = { ttlMs: 300_000, intervalMs: 60_000, perDay: 10, attempts: 5 };

describe('newCode', () => {
  it('is six digits', () => {
    for (let i = 0; i < 200; i++) expect(newCode()).toMatch(/^[0-9]{6}$/);
  });
});

describe('createCodeStore', () => {
  it('verifies the code once', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    const issued = await codes.issue('13900000001');
    if (!issued.issued) throw new Error('not issued');
    expect(await codes.verify('13900000001', issued.code)).toEqual({ ok: true });
    expect(await codes.verify('13900000001', issued.code)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a second code within the interval', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    expect((await codes.issue('13900000002')).issued).toBe(true);
    expect(await codes.issue('13900000002')).toMatchObject({ issued: false, window: 'minute', retryAfterSeconds: 60 });
    expect((await codes.issue('13900000003')).issued).toBe(true);
  });

  it('voids the code after five wrong guesses', async () => {
    const codes = createCodeStore(createMemoryStore(), limits);
    const issued = await codes.issue('13900000004');
    if (!issued.issued) throw new Error('not issued');
    const wrong = issued.code === '000000' ? '000001' : '000000';
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await codes.verify('13900000004', wrong));
    expect(results.map((r) => (r.ok ? 'ok' : r.reason === 'wrong' ? r.attemptsLeft : r.reason))).toEqual([4, 3, 2, 1, 0]);
    expect(await codes.verify('13900000004', issued.code)).toEqual({ ok: false, reason: 'expired' });
  });
});
