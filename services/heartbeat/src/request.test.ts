import { parseTrustProxy } from '@evshare/kit';
import { clientAddress, originAllowed } from './request';

const trust = (value: string) => {
  const compiled = parseTrustProxy(value);
  if (!compiled) throw new Error(`rejected ${value}`);
  return compiled;
};

describe('clientAddress', () => {
  const chain = '6.6.6.6, 203.0.113.7, 10.0.0.2';

  it('uses the socket address when no proxy is trusted, whatever the client claims', () => {
    expect(clientAddress('10.0.0.9', '6.6.6.6', trust('false'))).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.9', '6.6.6.6', trust('0'))).toBe('10.0.0.9');
  });

  it('with a hop count, takes the entry the last trusted proxy appended, not one the client forged', () => {
    expect(clientAddress('10.0.0.9', '6.6.6.6, 203.0.113.7', trust('true'))).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', '6.6.6.6, 203.0.113.7', trust('1'))).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', ['6.6.6.6', '203.0.113.7, 10.0.0.2'], trust('2'))).toBe('203.0.113.7');
  });

  it('with addresses and ranges, walks through trusted proxies only', () => {
    expect(clientAddress('127.0.0.1', chain, trust('loopback'))).toBe('10.0.0.2');
    expect(clientAddress('127.0.0.1', chain, trust('loopback, uniquelocal'))).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', chain, trust('loopback'))).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.9', chain, trust('10.0.0.0/8'))).toBe('203.0.113.7');
  });

  it('stops at the farthest known hop when fewer entries than trusted hops', () => {
    expect(clientAddress('10.0.0.9', '203.0.113.7', trust('5'))).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', undefined, trust('1'))).toBe('10.0.0.9');
    expect(clientAddress(undefined, undefined, trust('1'))).toBe('');
  });
});

describe('originAllowed', () => {
  it('allows requests without an Origin (not from a browser page)', () => {
    expect(originAllowed({ host: 'evshare.example' }, [], false)).toBe(true);
  });

  it('with no list, allows only the origin of the host the request was sent to', () => {
    expect(originAllowed({ host: 'evshare.example', origin: 'https://evshare.example' }, [], false)).toBe(true);
    expect(originAllowed({ host: 'evshare.example', origin: 'https://evil.example' }, [], false)).toBe(false);
    expect(originAllowed({ host: 'evshare.example', origin: 'null' }, [], false)).toBe(false);
  });

  it('reads X-Forwarded-Host only behind a trusted proxy', () => {
    const headers = { host: 'heartbeat:8083', 'x-forwarded-host': 'evshare.example', origin: 'https://evshare.example' };
    expect(originAllowed(headers, [], true)).toBe(true);
    expect(originAllowed(headers, [], false)).toBe(false);
  });

  it('with a list, allows exactly the listed origins', () => {
    const allowed = ['https://app.evshare.example', 'http://localhost:5173'];
    expect(originAllowed({ host: 'x', origin: 'https://app.evshare.example' }, allowed, false)).toBe(true);
    expect(originAllowed({ host: 'x', origin: 'http://localhost:5173' }, allowed, false)).toBe(true);
    expect(originAllowed({ host: 'x', origin: 'http://app.evshare.example' }, allowed, false)).toBe(false);
    expect(originAllowed({ host: 'x', origin: 'https://evil.example' }, ['*'], false)).toBe(true);
  });
});
