import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { platformPublicKey } from './platform-key';

const platform = generateKeyPairSync('ed25519');
const spki = platform.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const raw = (key: ReturnType<typeof platformPublicKey>) => key.export({ type: 'spki', format: 'der' }).toString('base64');

/** A self-signed certificate over the platform key, as Helm's genSelfSignedCertWithKey makes it. */
function certificate(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'evshare-platform-key-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    writeFileSync(keyFile, platform.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=evshare app keys', '-days', '1', '-out', path.join(dir, 'cert.pem')]);
    return readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('platformPublicKey', () => {
  it('reads a PEM public key', () => {
    expect(raw(platformPublicKey(spki))).toBe(raw(platform.publicKey));
  });

  it('reads the public key a certificate carries', () => {
    const cert = certificate();
    expect(new X509Certificate(cert).subject).toBe('CN=evshare app keys');
    expect(raw(platformPublicKey(cert))).toBe(raw(platform.publicKey));
  });

  it.each([
    ['the private key', platform.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /public half; a private key never goes into a terminal/],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      /must be Ed25519, not rsa/,
    ],
    ['garbage', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /not a PEM public key or certificate/],
    ['nothing', '', /not a PEM public key or certificate/],
  ])('refuses %s', (_what, pem, message) => {
    expect(() => platformPublicKey(pem)).toThrow(message);
  });
});
