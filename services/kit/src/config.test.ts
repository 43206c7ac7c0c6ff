import { z } from 'zod';
import { ConfigError, env, parseConfig } from './config';

const schema = z.object({
  PORT: env.port(8080),
  LOG_LEVEL: env.logLevel(),
  NATS_URL: env.optionalUrl(),
  TRUST_PROXY: env.bool(false),
  UPSTREAMS: env.list(),
});

describe('parseConfig', () => {
  it.each([
    [{}, { PORT: 8080, LOG_LEVEL: 'info', NATS_URL: undefined, TRUST_PROXY: false, UPSTREAMS: [] }],
    [
      { PORT: '9000', TRUST_PROXY: 'yes', UPSTREAMS: 'a, b,,c' },
      { PORT: 9000, TRUST_PROXY: true, UPSTREAMS: ['a', 'b', 'c'] },
    ],
    [{ PORT: '' }, { PORT: 8080 }],
    [{ NATS_URL: 'nats://127.0.0.1:4222' }, { NATS_URL: 'nats://127.0.0.1:4222' }],
  ])('accepts %j', (input, expected) => {
    expect(parseConfig(schema, input)).toMatchObject(expected);
  });

  it.each([
    [{ PORT: 'x' }, /^PORT: .*\(got "x"\)$/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ NATS_URL: 'not a url' }, /^NATS_URL: /],
    [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY: /],
  ])('rejects %j naming the variable', (input, message) => {
    expect(() => parseConfig(schema, input)).toThrow(ConfigError);
    expect(() => parseConfig(schema, input)).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => parseConfig(schema, { PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(/PORT: .*; LOG_LEVEL: /);
  });
});
