import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Pile passwords (OCPP security profile 1/2, HTTP Basic). They are generated random secrets
 * (OCPP asks for at least 16 characters), not human passwords, so a light scrypt is enough and
 * keeps a reconnect storm of thousands of piles cheap; the hash still never reveals them.
 */
const N = 1024;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

const derive = (password: Buffer | string, salt: Buffer, n: number, r: number, p: number) =>
  new Promise<Buffer>((resolve, reject) => scrypt(password, salt, KEY_LENGTH, { N: n, r, p }, (error, key) => (error ? reject(error) : resolve(key))));

export async function hashPilePassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPilePassword(stored: string | undefined, password: Buffer | undefined): Promise<boolean> {
  if (!stored || !password) return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await derive(password, Buffer.from(parts[4]!, 'base64'), n, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** 24 characters of base64url: 144 random bits. */
export const newPilePassword = () => randomBytes(18).toString('base64url');
