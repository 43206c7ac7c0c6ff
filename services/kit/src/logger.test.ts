import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('never writes passwords, tokens or cookies', () => {
    const { lines, stream } = capture();
    const log = createLogger('auth', 'info', stream);
    log.info({ body: { phone: '13800000000', password: 'hunter2', newPassword: 'n3w' }, token: 'abc' }, 'login');
    log.info({ req: { headers: { authorization: 'Bearer s3cret', cookie: 'evs_session=s3cret' } } }, 'request');
    const out = lines.join('');
    expect(out).not.toMatch(/hunter2|n3w|s3cret|"abc"/);
    expect(out).toContain('13800000000');
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'auth', level: 'info', msg: 'login' });
  });
});
