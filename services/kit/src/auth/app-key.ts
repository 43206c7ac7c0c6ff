import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * The app's offline key for one car (docs/vehicles.md, "App keys"): the platform signs, with its
 * Ed25519 key, the car's VIN, the member, a validity window and a nonce; the terminal verifies it
 * with the platform's public key provisioned into it, without any connection. Revocation is the
 * car's lists: a valid key opens only for a member the car would open for by card.
 *
 *   evk1.<base64url(JSON claims)>.<base64url(Ed25519 signature of "evk1." + claims part)>
 *   claims: {"vin": "<VIN>", "mid": "<member uuid>", "nbf": <unix s>, "exp": <unix s>, "nonce": "<16 bytes base64url>"}
 */
export const APP_KEY_PREFIX = 'evk1';
/** The longest window a terminal accepts: keys are short-lived by construction, not by trust. */
export const APP_KEY_MAX_VALIDITY_S = 24 * 3600;
/** Clock difference between the platform and a terminal tolerated at the window's edges. */
export const APP_KEY_CLOCK_SKEW_S = 120;
/** A key longer than this is refused before any parsing. */
const MAX_KEY_LENGTH = 1_024;

export interface AppKeyClaims {
  vin: string;
  mid: string;
  nbf: number;
  exp: number;
  nonce: string;
}

const claimsSchema = z
  .object({
    vin: z.string().regex(/^[A-HJ-NPR-Z0-9]{17}$/),
    mid: z.string().uuid(),
    nbf: z.number().int().min(0),
    exp: z.number().int().min(0),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  })
  .strict();

export type AppKeyRefusal = 'malformed' | 'signature' | 'other-car' | 'not-yet-valid' | 'expired' | 'too-long';

export type AppKeyCheck = { ok: true; claims: AppKeyClaims } | { ok: false; reason: AppKeyRefusal };

export const appKeyPrivateKey = (pem: string | KeyObject): KeyObject => (typeof pem === 'string' ? createPrivateKey(pem) : pem);
export const appKeyPublicKey = (pem: string | KeyObject): KeyObject => (typeof pem === 'string' ? createPublicKey(pem) : pem);

/** Issues a key (the platform). `validity` in seconds, at most APP_KEY_MAX_VALIDITY_S. */
export function signAppKey(
  privateKey: KeyObject,
  claims: { vin: string; memberId: string; notBefore: Date; validitySeconds: number },
): { key: string; claims: AppKeyClaims } {
  if (claims.validitySeconds <= 0 || claims.validitySeconds > APP_KEY_MAX_VALIDITY_S)
    throw new RangeError(`an app key is valid for 1 s to ${APP_KEY_MAX_VALIDITY_S} s`);
  const nbf = Math.floor(claims.notBefore.getTime() / 1000);
  const body: AppKeyClaims = { vin: claims.vin, mid: claims.memberId, nbf, exp: nbf + claims.validitySeconds, nonce: randomBytes(16).toString('base64url') };
  const signed = `${APP_KEY_PREFIX}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  return { key: `${signed}.${sign(null, Buffer.from(signed), privateKey).toString('base64url')}`, claims: body };
}

/** What the terminal checks, offline: the signature, its own VIN, the window by its own clock. */
export function verifyAppKey(publicKey: KeyObject, key: string, car: { vin: string; nowMs: number }): AppKeyCheck {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = key.split('.');
  if (parts.length !== 3 || parts[0] !== APP_KEY_PREFIX || !/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[A-Za-z0-9_-]{86}$/.test(parts[2]!))
    return { ok: false, reason: 'malformed' };
  const signature = Buffer.from(parts[2]!, 'base64url');
  if (signature.length !== 64 || signature.toString('base64url') !== parts[2]) return { ok: false, reason: 'malformed' };
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, signature)) return { ok: false, reason: 'signature' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = claimsSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  const claims = parsed.data;
  if (claims.vin !== car.vin) return { ok: false, reason: 'other-car' };
  if (claims.exp - claims.nbf > APP_KEY_MAX_VALIDITY_S || claims.exp <= claims.nbf) return { ok: false, reason: 'too-long' };
  const now = car.nowMs / 1000;
  if (now < claims.nbf - APP_KEY_CLOCK_SKEW_S) return { ok: false, reason: 'not-yet-valid' };
  if (now >= claims.exp + APP_KEY_CLOCK_SKEW_S) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
