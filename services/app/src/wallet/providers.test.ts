import { createHostedTopUpProvider, signCallback } from './providers';

const key = 'k'.repeat(32);
const provider = createHostedTopUpProvider({ url: 'https://pay.example/checkout', signingKey: key });
const now = new Date('2025-01-01T00:00:00Z');
const fields = {
  paymentId: '3f2b8c9e-1d2a-4b5c-8d7e-0a1b2c3d4e5f',
  providerRef: 'PAY-1',
  amountFen: 5_000,
  status: 'succeeded',
  timestamp: now.getTime() / 1000,
};

describe('hosted provider callbacks', () => {
  it('signs the sorted fields', () => {
    expect(signCallback(key, { b: 2, a: 1, sign: 'x' })).toBe(signCallback(key, { a: 1, b: 2 }));
  });

  it('accepts a correctly signed callback', () => {
    expect(provider.verifyCallback!({ ...fields, sign: signCallback(key, fields) }, now)).toEqual({
      paymentId: fields.paymentId,
      providerRef: 'PAY-1',
      amountFen: 5_000,
      status: 'succeeded',
    });
  });

  it.each([
    ['another key', { ...fields, sign: signCallback('x'.repeat(32), fields) }, now],
    ['a changed amount', { ...fields, amountFen: 50_000, sign: signCallback(key, fields) }, now],
    ['a stale timestamp', { ...fields, sign: signCallback(key, fields) }, new Date(now.getTime() + 16 * 60_000)],
  ])('refuses %s', (_name, body, at) => {
    expect(provider.verifyCallback!(body, at)).toBeUndefined();
  });

  it('sends the member to the payment page with the payment id', async () => {
    expect(await provider.start({ id: fields.paymentId, memberId: fields.paymentId, amountFen: 100 })).toEqual({
      status: 'pending',
      next: { url: `https://pay.example/checkout?payment=${fields.paymentId}&amountFen=100` },
    });
  });
});
