import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The platform's app-key public key as a terminal is provisioned with it: a PEM public key, or a
 * certificate carrying one (the chart's generated key comes that way, since Helm cannot print a
 * bare public key). A private key is refused: a terminal that holds it could sign keys itself.
 */
export function platformPublicKey(pem: string): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('the platform key must be the public half; a private key never goes into a terminal');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('the platform key is not a PEM public key or certificate');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the platform key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}
