import { z } from 'zod';
import { Problem, problems, validate } from './problem';

describe('validate', () => {
  const schema = z.object({ phone: z.string().regex(/^1\d{10}$/, 'must be an 11-digit mobile number'), age: z.number().int() }).strict();

  it('returns the parsed value', () => {
    expect(validate(schema, { phone: '13800000000', age: 3 })).toEqual({ phone: '13800000000', age: 3 });
  });

  it.each([
    [{ phone: 'x', age: 3 }, ['phone']],
    [{ phone: '13800000000', age: 'three' }, ['age']],
    [{}, ['phone', 'age']],
    [{ phone: '13800000000', age: 1, extra: true }, ['(body)']],
  ])('names the wrong fields of %j', (input, names) => {
    try {
      validate(schema, input);
      throw new Error('expected a problem');
    } catch (error) {
      expect(error).toBeInstanceOf(Problem);
      const problem = error as Problem;
      expect(problem.status).toBe(400);
      expect(problem.toJSON()['invalid-params']).toEqual(names.map((name) => expect.objectContaining({ name })));
    }
  });

  it('prefixes the part of the request', () => {
    expect(() => validate(z.object({ page: z.coerce.number() }), { page: 'x' }, 'query')).toThrow(/query.page/);
  });
});

describe('Problem.toJSON', () => {
  it('renders RFC 7807 members', () => {
    expect(problems.tooManyRequests(30).toJSON('/api/v1/auth/login')).toEqual({
      type: 'urn:evshare:problem:too-many-requests',
      title: 'Too many requests',
      status: 429,
      detail: 'Too many attempts; try again later',
      instance: '/api/v1/auth/login',
      retryAfter: 30,
    });
  });
});
