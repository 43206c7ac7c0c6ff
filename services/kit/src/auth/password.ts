import { hash, verify, Algorithm } from '@node-rs/argon2';

/**
 * argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~20-40 ms per check here,
 * slow enough to make offline guessing expensive, fast enough for interactive login.
 */
const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

// Verifying against a real hash of nothing keeps an unknown account as slow as a wrong password,
// so response time does not reveal which accounts exist.
let decoy: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    decoy ??= hashPassword('evshare-decoy-password');
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** Password rules, in one place for registration, change and the admin API. */
export const PASSWORD_RULES = { minLength: 8, maxLength: 128 } as const;
