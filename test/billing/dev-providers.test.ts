/**
 * Attack: money without payment. The `dev` top-up provider confirms at once and the `dev` SMS
 * provider shows verification codes in an outbox; a production process must refuse to start with
 * either (one configuration line, exit 2), and must not get them by default.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseConfig } from '@evshare/kit';
import { appConfigSchema } from '@evshare/app';
import { smsConfigSchema } from '@evshare/sms';

const REPO = path.resolve(__dirname, '..', '..');

function runMain(service: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'services', service, 'dist', 'main.js')], {
      // Nothing to connect to: a configuration error must come before any connection.
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('dev top-up in production', () => {
  it('is refused at start-up: the APP exits 2 with one configuration line', async () => {
    const { code, stderr } = await runMain('app', { NODE_ENV: 'production', PAYMENT_PROVIDERS: 'dev' });
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(
      /^app: configuration error: PAYMENT_PROVIDERS: the dev provider confirms top-ups without payment and is refused with NODE_ENV=production \(got "dev"\)$/,
    );
  });

  it.each([
    ['production', undefined, []],
    ['unset', undefined, []],
    ['development', undefined, ['dev']],
    ['test', undefined, ['dev']],
    ['production', 'hosted', ['hosted']],
    ['development', 'hosted', ['hosted']],
  ])('NODE_ENV %s, PAYMENT_PROVIDERS %s → %j', (nodeEnv, providers, expected) => {
    const env: Record<string, string> = {};
    if (nodeEnv !== 'unset') env.NODE_ENV = nodeEnv;
    if (providers) env.PAYMENT_PROVIDERS = providers;
    expect(parseConfig(appConfigSchema, env).PAYMENT_PROVIDERS).toEqual(expected);
  });
});

describe('dev SMS provider in production', () => {
  it('is refused at start-up: the SMS service exits 2 with one configuration line', async () => {
    const { code, stderr } = await runMain('sms', { NODE_ENV: 'production', SMS_PROVIDER: 'dev' });
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(
      /^sms: configuration error: SMS_PROVIDER: the dev provider keeps codes in an outbox operators read and is refused with NODE_ENV=production \(got "dev"\)$/,
    );
  });

  it('is never the default outside development: production without a provider is a configuration error', async () => {
    const { code, stderr } = await runMain('sms', { NODE_ENV: 'production' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/SMS_PROVIDER: required outside development/);
    expect(parseConfig(smsConfigSchema, { NODE_ENV: 'development' }).SMS_PROVIDER).toBe('dev');
    expect(parseConfig(smsConfigSchema, { NODE_ENV: 'production', SMS_PROVIDER: 'http' }).SMS_PROVIDER).toBe('http');
  });
});
